"""`paper-assistant`: the parser with its explicit list of command groups, and the error handling of all of them.

Known errors become one line on stderr and exit code 2. A command module that fails to import fails here, at
start, rather than quietly losing its commands.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from assistant.cli import answer, collections, evals, index, mcp, serve, table
from assistant.cli.common import UsageError, terminal_safe
from assistant.offline import enforce_offline

EXIT_ERROR = 2
COMMAND_GROUPS = (index, collections, answer, table, serve, mcp, evals)  # each has add_commands(subparsers)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="paper-assistant", description="Paper Assistant: answers questions "
                                     "across research-paper abstracts, citing the papers it used.")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.add_commands(sub)
    return parser


def known_errors() -> tuple[type[BaseException], ...]:
    from assistant.answer.pipeline import QuestionError
    from assistant.answer.table import TableError
    from assistant.config import ConfigError
    from assistant.ingest.readers.base import CorpusError
    from assistant.llms.base import BackendError, GenerationError
    from assistant.search.store import StoreError

    return (ConfigError, CorpusError, StoreError, BackendError, GenerationError, QuestionError, TableError,
            UsageError)


def main(argv: Sequence[str] | None = None) -> int:
    enforce_offline()
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except known_errors() as e:
        print(terminal_safe(f"error: {e}"), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
