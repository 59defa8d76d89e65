"""The `paper-assistant` command: thin wrappers over the same functions the UI and eval use.

Each subcommand imports what it needs when it runs, so `--help` and light commands start fast. Known
errors become one line on stderr and exit code 2; nothing here holds logic of its own.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from assistant.offline import enforce_offline

EXIT_ERROR = 2
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 (but tab, newline) and C1 controls


def terminal_safe(text: str) -> str:
    """Corpus and model text without control characters: printed raw, an escape sequence in a title could clear,
    retitle or rewrite the user's terminal. JSON output needs no such care (json escapes them)."""
    return _CONTROL.sub("", text)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if getattr(args, "store", None):
        out.setdefault("store", {})["path"] = str(args.store)
    if getattr(args, "k", None):
        out.setdefault("retrieval", {})["k"] = args.k
    if getattr(args, "model", None):
        out.setdefault("llm", {})["backend"] = args.model
    return out


def settings_from(args: argparse.Namespace):
    from assistant.config import load_settings

    return load_settings(args.config, _overrides(args))


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def cmd_ingest(args: argparse.Namespace) -> int:
    from assistant.corpus import read_paths
    from assistant.embeddings import load_embedder
    from assistant.index import ingest

    settings = settings_from(args)
    paths = [Path(p) for p in args.paths] or settings.corpus.paths
    result = read_paths(paths)
    embedder = load_embedder(settings.embedding)
    report = ingest(
        result.papers, settings, embedder, files=len(result.files), rebuild=args.rebuild, prune=args.prune,
        progress=not args.quiet,
    )
    data = report.to_dict()
    if args.json:
        _print_json({k: data[k] for k in ("files", "papers_seen", "papers_new", "papers_updated",
                                           "papers_unchanged", "chunks_embedded", "seconds")}
                    | ({"papers_removed": data["papers_removed"]} if args.prune else {}))
    else:
        print(
            f"Read {report.files} file(s): {len(result.entries)} entries, {report.papers_seen} unique papers.\n"
            f"New {report.papers_new}, updated {report.papers_updated}, unchanged {report.papers_unchanged}"
            + (f", removed {report.papers_removed}" if args.prune else "")
            + f"; embedded {report.chunks_embedded} chunks in {report.seconds:.1f} s.\n"
            f"Store: {settings.store.url or settings.store.path}"
        )
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from assistant.store import PaperStore

    settings = settings_from(args)
    store = PaperStore(settings)
    papers = {str(m["paper_id"]) for _, m, _ in store.iter_metadata()}
    data = {
        "papers": len(papers),
        "chunks": store.count_chunks(),
        "store": store.location,
        "embedding_model": settings.embedding.model,
    }
    if args.json:
        _print_json(data)
    else:
        for key, value in data.items():
            print(f"{key:16} {value}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from assistant.embeddings import load_embedder
    from assistant.retrieval import Retriever
    from assistant.store import PaperStore

    settings = settings_from(args)
    query = args.query.strip()
    if not query:
        raise UsageError("the query is empty")
    store = PaperStore(settings)
    retriever = Retriever(settings, store, load_embedder(settings.embedding))
    hits = retriever.search(query, args.k or settings.retrieval.k)
    if args.json:
        _print_json({"query": query, "results": [
            {"rank": i, "paper_id": h.paper_id, "title": h.title, "url": h.url, "score": h.score, "text": h.text}
            for i, h in enumerate(hits, 1)
        ]})
    else:
        for i, h in enumerate(hits, 1):
            print(terminal_safe(f"{i}. {h.title}  (score {h.score:.3f})\n   {h.url}\n   {h.text[:200]}…\n"))
    return 0


class UsageError(ValueError):
    """A command was called with arguments that cannot work."""


def _add_common(p: argparse.ArgumentParser, *, store: bool = True, json_flag: bool = True) -> None:
    p.add_argument("--config", type=Path, help="settings TOML file (default ./paper-assistant.toml)")
    if store:
        p.add_argument("--store", type=Path, help="Chroma store directory (default data/index)")
    if json_flag:
        p.add_argument("--json", action="store_true", help="print machine-readable JSON")


Command = Callable[[argparse.Namespace], int]
EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = []


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="paper-assistant", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="read papers and (re)build the index incrementally")
    p.add_argument("paths", nargs="*", help="files or directories (default: the built-in corpus)")
    p.add_argument("--rebuild", action="store_true", help="drop the collection and start over")
    p.add_argument("--prune", action="store_true", help="remove papers that are no longer in PATHs")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_common(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("stats", help="papers and chunks in the store")
    _add_common(p)
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("search", help="retrieval only: the papers that match a query")
    p.add_argument("query")
    p.add_argument("--k", type=int, help="number of papers (default retrieval.k)")
    _add_common(p)
    p.set_defaults(func=cmd_search)

    from assistant import commands

    commands.register(sub, _add_common)
    return parser


def known_errors() -> tuple[type[BaseException], ...]:
    from assistant.config import ConfigError
    from assistant.corpus import CorpusError
    from assistant.llms.base import BackendError, GenerationError
    from assistant.pipeline import QuestionError
    from assistant.store import StoreError

    return (ConfigError, CorpusError, StoreError, BackendError, GenerationError, QuestionError, UsageError)


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
