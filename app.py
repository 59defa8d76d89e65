"""The chat UI and the API on http://127.0.0.1:7860: `python app.py [--host H] [--port P] [--model NAME] [--store DIR]`.

Exactly `paper-assistant serve` (assistant/cli/serve.py): settings -> `assistant.app.build` -> the page
(assistant/ui/page.py) mounted into the API (assistant/api/, docs/api.md) -> one server; a bad store or an unsafe
bind is one line on stderr, exit 2.
"""

import sys

from assistant.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
