"""`python -m assistant.cli` is `paper-assistant`."""

import sys

from assistant.cli.main import main

sys.exit(main())
