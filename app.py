"""Launch the Paper Assistant chat UI: `python app.py [--host H] [--port P] [--model NAME] [--store DIR]`."""

import sys

from assistant.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
