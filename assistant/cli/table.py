"""`table` and `related`: a review table of chosen papers with free-text columns, and the papers most like one.

`table` prints its progress on stderr as rows finish and the table, as Markdown, CSV or JSON, on stdout (or in
--out FILE). Papers come from ids or titles (--papers), a search (--search) or a question's sources (--question).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from assistant.cli.common import (
    UsageError,
    add_common,
    add_filter_flags,
    filters_from,
    print_json,
    settings_from,
    terminal_safe,
)

FORMATS = ("markdown", "csv", "json")


def _papers(args: argparse.Namespace, app: Any, options: Any) -> list[Any]:
    from assistant.answer.table import pick

    refs: list[str] = list(args.papers or [])
    if args.search:
        refs += [h.paper_id for h in app.retriever.search(args.search, args.k or app.settings.retrieval.k)]
    if args.question:
        refs += [h.paper_id for h in app.pipeline.retrieve(args.question, options).hits]
    if not refs:
        raise UsageError("no papers: give --papers ID|TITLE..., --search QUERY or --question TEXT")
    return pick(app.store, list(dict.fromkeys(refs)))


def cmd_table(args: argparse.Namespace) -> int:
    from assistant.answer.table import Table, clean_columns
    from assistant.app import build

    columns = clean_columns(args.columns)
    app = build(settings_from(args))
    options = app.pipeline.options(k=args.k)
    papers = _papers(args, app, options)
    rows = []
    for row in app.tables.rows(papers, columns, options):
        rows.append(row)
        stated = sum(c.stated for c in row.cells)
        print(terminal_safe(f"row {row.n}/{len(papers)} ({row.seconds:.1f} s, {stated}/{len(columns)} stated): "
                            f"{row.title[:70]}"), file=sys.stderr)
    table = Table(columns, rows, rows[0].model)
    if args.format == "json":
        import json

        text = json.dumps(table.to_dict(), indent=2, ensure_ascii=False) + "\n"
    else:
        text = table.to_csv() if args.format == "csv" else table.to_markdown()
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text if args.format == "json" else terminal_safe(text))
    return 0


def cmd_related(args: argparse.Namespace) -> int:
    from assistant.answer.table import pick
    from assistant.app import build
    from assistant.search.related import related

    app = build(settings_from(args, llm={"backend": "extractive"}))  # no model is used
    paper = pick(app.store, [args.paper])[0]
    hits = related(app.retriever, paper.paper_id, app.pipeline.options(k=args.k, filters=filters_from(args)))
    if args.json:
        print_json({"paper_id": paper.paper_id, "title": paper.title, "related": [
            {"rank": i, "paper_id": h.paper_id, "title": h.title, "url": h.url, "similarity": h.similarity}
            for i, h in enumerate(hits, 1)]})
        return 0
    print(terminal_safe(f"Papers like: {paper.title}\n"))
    for i, h in enumerate(hits, 1):
        print(terminal_safe(f"{i}. {h.title}  (similarity {h.similarity:.3f})\n   {h.paper_id} · {h.url}"))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("table", help="a review table: one row per paper, one cited cell per column")
    p.add_argument("--papers", nargs="+", metavar="ID|TITLE", help="paper ids or titles (a unique part of one)")
    p.add_argument("--search", metavar="QUERY", help="add the papers a search finds (--k of them)")
    p.add_argument("--question", metavar="TEXT", help="add the papers an answer to this question would cite "
                   "from (its sources; nothing is generated)")
    p.add_argument("--columns", nargs="+", required=True, metavar="COLUMN", help="free-text column names")
    p.add_argument("--format", choices=FORMATS, default="markdown", help="output format (default markdown)")
    p.add_argument("--out", type=Path, help="write the table to this file instead of stdout")
    p.add_argument("--model", help="backend name (see `paper-assistant models`; `extractive` needs no model)")
    p.add_argument("--k", type=int, help="papers taken from --search (default retrieval.k)")
    add_common(p, json_flag=False)
    p.set_defaults(func=cmd_table)

    p = sub.add_parser("related", help="the papers most like one paper (stored embeddings, no model)")
    p.add_argument("paper", metavar="ID|TITLE")
    p.add_argument("--k", type=int, help="number of papers (default retrieval.k)")
    add_filter_flags(p)
    add_common(p)
    p.set_defaults(func=cmd_related)
