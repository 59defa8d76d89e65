"""The chat UI on http://127.0.0.1:7860: `python app.py [--host H] [--port P] [--model NAME] [--store DIR]`.

Exactly `paper-assistant serve` (assistant/serve_cli.py): offline guard, load settings, build the pipeline the CLI
uses, build the page (assistant/ui.py), launch it; a bad store or an unsafe bind is one line on stderr, exit 2.
"""

import sys

from assistant.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
