"""`collections`: list the named collections of the store, or delete one (`collections delete NAME --yes`)."""

from __future__ import annotations

import argparse

from assistant.cli.common import UsageError, add_common, print_json, settings_from


def cmd_collections(args: argparse.Namespace) -> int:
    from assistant.search.collections import delete_collection
    from assistant.search.store import list_collections

    settings = settings_from(args)
    if args.action == "delete":
        if not args.name:
            raise UsageError("collections delete: name the collection to delete")
        if not args.yes:
            raise UsageError(f"collections delete {args.name}: this deletes its papers and index; add --yes")
        delete_collection(settings, args.name)
        print(f"Deleted collection {args.name!r} from {settings.store.url or settings.store.path}.")
        return 0
    if args.name:
        raise UsageError(f"collections: unexpected {args.name!r} (did you mean `collections delete {args.name}`?)")
    rows = [{"name": c.name, "chunks": c.chunks, "chroma_name": c.chroma_name} for c in list_collections(settings)]
    if args.json:
        print_json(rows)
    elif not rows:
        print("No collections yet: run `paper-assistant ingest [--collection NAME] PATH`.")
    else:
        for r in rows:
            print(f"{r['name']:24} {r['chunks']:>7} chunks")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("collections", help="list the named collections, or delete one")
    p.add_argument("action", nargs="?", choices=["list", "delete"], default="list")
    p.add_argument("name", nargs="?", help="the collection to delete")
    p.add_argument("--yes", action="store_true", help="confirm a delete")
    add_common(p)
    p.set_defaults(func=cmd_collections)
