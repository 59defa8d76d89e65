"""`ingest`, `stats` and `search`: build the index, count what it holds, retrieve without answering."""

from __future__ import annotations

import argparse
from pathlib import Path

from assistant.cli.common import (
    UsageError,
    add_common,
    add_filter_flags,
    filters_from,
    print_json,
    settings_from,
    terminal_safe,
)


def cmd_ingest(args: argparse.Namespace) -> int:
    from assistant.app import load_embedder
    from assistant.ingest.corpus import read_paths
    from assistant.ingest.index import ingest
    from assistant.resources import corpus_dir

    settings = settings_from(args)
    paths = [Path(p) for p in args.paths] or settings.corpus.paths or [corpus_dir()]
    result = read_paths(paths)
    embedder = load_embedder(settings)
    report = ingest(
        result.papers, settings, embedder, files=len(result.files),
        rebuild=args.rebuild, prune=args.prune, progress=not args.quiet,
    )
    data = report.to_dict()
    skipped = result.skipped
    if args.json:
        listed = [{"where": s.where, "title": s.title, "reason": s.reason} for s in skipped]
        print_json({k: data[k] for k in ("files", "papers_seen", "papers_new", "papers_updated",
                                          "papers_unchanged", "chunks_embedded", "seconds")}
                   | ({"papers_removed": data["papers_removed"]} if args.prune else {})
                   | ({"entries_skipped": len(skipped)} if skipped else {})
                   | ({"skipped": listed} if skipped and args.verbose else {}))
    else:
        print(
            f"Read {report.files} file(s): {len(result.entries)} entries, {report.papers_seen} unique papers"
            + (f"; skipped {len(skipped)} entries without an abstract"
               + ("" if args.verbose else " (--verbose lists them)") if skipped else "") + ".\n"
            + "".join(terminal_safe(f"  skipped {s.where}: {s.title[:80]} ({s.reason})\n")
                      for s in skipped if args.verbose)
            + f"New {report.papers_new}, updated {report.papers_updated}, unchanged {report.papers_unchanged}"
            + (f", removed {report.papers_removed}" if args.prune else "")
            + f"; embedded {report.chunks_embedded} chunks in {report.seconds:.1f} s.\n"
            f"Store: {settings.store.url or settings.store.path}, collection {settings.store.collection}"
        )
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from assistant.app import open_store

    settings = settings_from(args)
    store = open_store(settings)
    data = {
        "papers": len(store.paper_ids()),
        "chunks": store.count_chunks(),
        "store": store.location,
        "collection": store.collection_label,
        "embedding_model": settings.embedding.model,
    }
    if args.json:
        print_json(data)
    else:
        for key, value in data.items():
            print(f"{key:16} {value}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from assistant.app import build

    query = args.query.strip()
    if not query:
        raise UsageError("the query is empty")
    app = build(settings_from(args))
    from assistant.api.service import search_result  # the shape POST /api/search returns too

    filters = filters_from(args)
    hits = app.retriever.search(query, app.settings.retrieval.k, filters=filters)
    label = filters.label() if filters.active else None
    found = search_result(query, hits, app.store.first_chunks([h.paper_id for h in hits]),
                          app.store.collection_label, label)
    results = found["results"]
    if args.json:
        print_json(found)
        return 0
    if label and not hits:
        print(f"No paper in the collection matches the filter ({label}).")
    for r in results:
        who = ", ".join(r["authors"][:3]) + (" et al." if len(r["authors"]) > 3 else "")
        facts = " · ".join(str(x) for x in (who, r["year"], r["venue"]) if x)
        print(terminal_safe(f"{r['rank']}. {r['title']}  (score {r['score']:.3f})\n"
                            + (f"   {facts}\n" if facts else "") + f"   {r['url']}\n   {r['text'][:200]}…\n"))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ingest", help="read papers and (re)build the index incrementally")
    p.add_argument("paths", nargs="*", help="files, directories or Zotero data directories (default: the "
                   "built-in corpus)")
    p.add_argument("--rebuild", action="store_true", help="drop the collection and start over")
    p.add_argument("--prune", action="store_true", help="remove papers that are no longer in PATHs")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--verbose", action="store_true", help="list the entries skipped (no abstract), file and line")
    add_common(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("stats", help="papers and chunks in the store")
    add_common(p)
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("search", help="retrieval only: the papers that match a query")
    p.add_argument("query")
    p.add_argument("--k", type=int, help="number of papers (default retrieval.k)")
    add_filter_flags(p)
    add_common(p)
    p.set_defaults(func=cmd_search)
