"""`serve`: build the app, build the page over it, serve the page and the HTTP API (OpenAI-compatible chat,
search, ask, MCP over HTTP; docs/api.md) from one server, loopback by default; `python app.py` is the same."""

from __future__ import annotations

import argparse

from assistant.cli.common import add_common, settings_from


def cmd_serve(args: argparse.Namespace) -> int:
    from assistant.app import build
    from assistant.ui.page import build_app
    from assistant.ui.serve import auth_for, serve

    settings = settings_from(args)
    auth_for(settings.ui)  # fail before any loading if the bind is unsafe
    app = build(settings)  # a missing/corrupt store stops here, before the page exists
    served = serve(app, build_app(app), settings)
    print(f"Paper Assistant on {served.url} (API: {served.url}v1, docs {served.url}docs; Ctrl+C to stop)",
          flush=True)
    app.warm()  # after printing: llama.cpp silences stdout/stderr while it loads a model
    try:
        served.wait()
    finally:
        app.close()
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="open the chat UI and the HTTP API (default http://127.0.0.1:7860)")
    p.add_argument("--host", help="address to bind (default 127.0.0.1; others need auth)")
    p.add_argument("--port", type=int, help="port (default 7860)")
    p.add_argument("--model", help="backend name (see `paper-assistant models`)")
    p.add_argument("--insecure-no-auth", action="store_true", help="allow a non-loopback bind without a login")
    add_common(p, json_flag=False)
    p.set_defaults(func=cmd_serve)
