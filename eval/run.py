"""Run the eval: `python eval/run.py [options]` is `paper-assistant eval [options]`."""

import sys

from assistant.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["eval", *sys.argv[1:]]))
