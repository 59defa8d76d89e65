"""`paper-assistant serve` and `launch()`: binding, authentication and the request queue for the chat UI.

Loopback by default. Any other address needs credentials (env var or file) unless --insecure-no-auth is
given; a public share link is never created. Building the page is ui.py's job.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import ROOT, ConfigError, Settings, UISettings
from assistant.llms.base import Backend, Request

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger(__name__)
TEMP_DIR = ROOT / "data" / "gradio-tmp"  # Gradio's cache and uploads: inside the project, not /tmp/gradio

MAX_UPLOAD = "1mb"  # the page takes no files, but Gradio's /upload route exists: keep clients from filling the disk


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _pair(line: str, origin: str) -> tuple[str, str]:
    user, sep, password = line.strip().partition(":")
    if not sep or not user or not password:
        raise ConfigError(f"{origin}: expected user:password")
    return user, password


def credentials(ui: UISettings) -> list[tuple[str, str]]:
    """user:password pairs from ui.auth_file and the env var named by ui.auth_env."""
    pairs: list[tuple[str, str]] = []
    if ui.auth_file:
        try:
            lines = ui.auth_file.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise ConfigError(f"ui.auth_file = {str(ui.auth_file)!r}: cannot read ({e.strerror})") from e
        pairs += [_pair(ln, f"{ui.auth_file}:{i}") for i, ln in enumerate(lines, 1) if ln.strip()]
    if os.environ.get(ui.auth_env):
        pairs.append(_pair(os.environ[ui.auth_env], f"${ui.auth_env}"))
    return pairs


def auth_for(ui: UISettings) -> list[tuple[str, str]] | None:
    """Credentials to require, or None on loopback. Refuses to expose the app without them."""
    pairs = credentials(ui)
    if is_loopback(ui.host):
        return pairs or None
    if not pairs and not ui.insecure_no_auth:
        raise ConfigError(
            f"ui.host = {ui.host!r} exposes the app beyond this machine: set {ui.auth_env}=user:password or "
            "ui.auth_file, or pass --insecure-no-auth if you really want no login"
        )
    return pairs or None


def launch(demo: gr.Blocks, settings: Settings, *, block: bool = True, port: int | None = None) -> gr.Blocks:
    """Queue and launch `demo` as the settings say; returns it (call demo.close() when not blocking).

    No allowed_paths: Gradio's file routes then serve only its own cache (GRADIO_TEMP_DIR, under data/)."""
    ui = settings.ui
    auth = auth_for(ui)
    os.environ.setdefault("GRADIO_TEMP_DIR", str(TEMP_DIR))
    Path(os.environ["GRADIO_TEMP_DIR"]).mkdir(parents=True, exist_ok=True)
    # Beyond max_size waiting requests, Gradio tells the user "This application is currently busy".
    demo.queue(default_concurrency_limit=ui.concurrency, max_size=ui.max_queue)
    from assistant.render import CSS

    demo.launch(
        server_name=ui.host, server_port=port if port is not None else (ui.port or None), share=False, auth=auth,
        prevent_thread_lock=not block, quiet=True, show_error=False, css=CSS, footer_links=["api"],
        ssr_mode=False, mcp_server=False, max_file_size=MAX_UPLOAD,
    )
    return demo


def serve_settings(args: argparse.Namespace) -> Settings:
    """The settings file and env vars, then --store/--model, then --host/--port/--insecure-no-auth."""
    from assistant.cli import settings_from

    settings = settings_from(args)
    ui_update: dict[str, Any] = {}
    if args.host:
        ui_update["host"] = args.host
    if args.port is not None:
        ui_update["port"] = args.port
    if args.insecure_no_auth:
        ui_update["insecure_no_auth"] = True
    return settings.model_copy(update={"ui": settings.ui.model_copy(update=ui_update)})


def warm_up(backend: Backend) -> None:
    """Load a local model in the background, so the first question does not wait for it. Through `generate`
    (one token): it takes the backend's own lock, so a question asked meanwhile cannot load a second copy."""
    if not callable(getattr(backend, "load", None)):
        return  # servers and built-ins: nothing to load

    def run() -> None:
        try:
            for _ in backend.generate(Request(messages=[{"role": "user", "content": "Hi"}], max_tokens=1)):
                pass
        except Exception:  # the first question reports it, with the backend's own message
            log.warning("warming up %s failed", backend.name, exc_info=True)

    threading.Thread(target=run, daemon=True, name="warm-up").start()


def cmd_serve(args: argparse.Namespace) -> int:
    """Load settings, build the pipeline (the CLI's), build the page, launch it; app.py runs this too."""
    from assistant.pipeline import Pipeline
    from assistant.ui import build_app

    settings = serve_settings(args)
    auth_for(settings.ui)  # fail before any loading if the bind is unsafe
    pipeline = Pipeline.from_settings(settings)  # a missing/corrupt store stops here, before the page exists
    pipeline.retriever.keyword  # noqa: B018 - load BM25 now, not on the first question
    demo = launch(build_app(pipeline, settings), settings, block=False)
    print(f"Paper Assistant on {demo.local_url} (Ctrl+C to stop)", flush=True)
    warm_up(pipeline.backend)  # after printing: llama.cpp silences stdout/stderr while it loads a model
    demo.block_thread()
    return 0


def add_command(sub: argparse._SubParsersAction, add_common: Any) -> None:
    p = sub.add_parser("serve", help="open the chat UI (default http://127.0.0.1:7860)")
    p.add_argument("--host", help="address to bind (default 127.0.0.1; others need auth)")
    p.add_argument("--port", type=int, help="port (default 7860)")
    p.add_argument("--model", help="backend name (see `paper-assistant models`)")
    p.add_argument("--insecure-no-auth", action="store_true", help="allow a non-loopback bind without a login")
    add_common(p, json_flag=False)
    p.set_defaults(func=cmd_serve)
