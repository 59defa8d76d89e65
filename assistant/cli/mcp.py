"""`mcp`: the MCP server over stdio, for Claude Desktop, Cursor and other MCP clients (docs/api.md).

stdout carries the protocol only: while it serves, the SDK points fd 1 at stderr, so a model's loading messages
cannot corrupt it. The same server runs over HTTP at /mcp inside `serve`.
"""

from __future__ import annotations

import argparse

from assistant.cli.common import add_common, settings_from


def cmd_mcp(args: argparse.Namespace) -> int:
    import anyio

    from assistant.api.mcp_server import build_mcp
    from assistant.api.service import Service
    from assistant.app import build

    app = build(settings_from(args))  # a missing/corrupt store stops here, one line on stderr
    try:
        anyio.run(build_mcp(Service(app)).run_stdio_async)
    finally:
        app.close()
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mcp", help="serve the MCP tools (search_papers, ask, get_paper) over stdio")
    p.add_argument("--model", help="default backend of `ask` (see `paper-assistant models`)")
    p.add_argument("--k", type=int, help="number of sources (default retrieval.k)")
    add_common(p, json_flag=False)
    p.set_defaults(func=cmd_mcp)
