"""Serving the page: binding, authentication, the request queue (`launch`: the page alone; `serve`: the page
mounted into the HTTP API's FastAPI app, one server). Warming the model up is `App.warmup`'s job.

Loopback by default. Any other address needs credentials (env var or file) unless ui.insecure_no_auth is set;
a public share link is never created. Building the page is `page`'s job; the command line is `cli.serve`'s.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.config import ConfigError, Settings, UISettings

if TYPE_CHECKING:
    import gradio as gr
    import uvicorn

    from assistant.app import App

log = logging.getLogger(__name__)
TEMP_DIR = Path("data/gradio-tmp")  # Gradio's cache and uploads, beside the store: not /tmp/gradio



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

    No allowed_paths: Gradio's file routes then serve only its own cache (GRADIO_TEMP_DIR, under data/). Its
    upload route takes files up to ui.max_upload_mb, behind the same login as the page."""
    ui = settings.ui
    auth = auth_for(ui)
    os.environ.setdefault("GRADIO_TEMP_DIR", str(TEMP_DIR.resolve()))
    Path(os.environ["GRADIO_TEMP_DIR"]).mkdir(parents=True, exist_ok=True)
    # Beyond max_size waiting requests, Gradio tells the user "This application is currently busy".
    demo.queue(default_concurrency_limit=ui.concurrency, max_size=ui.max_queue)
    from assistant.ui.render import CSS

    demo.launch(
        server_name=ui.host, server_port=port if port is not None else (ui.port or None), share=False, auth=auth,
        prevent_thread_lock=not block, quiet=True, show_error=False, css=CSS, footer_links=["api"],
        ssr_mode=False, mcp_server=False, max_file_size=int(ui.max_upload_mb * 1024 * 1024),
    )
    return demo


class Served:
    """The page and the API running in one uvicorn server on a background thread: `url`, then `close()`."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, url: str) -> None:
        self.server, self.thread, self.url = server, thread, url

    def wait(self) -> None:
        """Block until the server stops (Ctrl+C stops it)."""
        try:
            while self.thread.is_alive():
                self.thread.join(0.5)
        except KeyboardInterrupt:
            self.close()
            raise

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def serve(app: App, demo: gr.Blocks, settings: Settings, *, port: int | None = None) -> Served:
    """The page mounted into the API's FastAPI app (`api.http.create_api`), both behind the same login, binding
    rules and queue, served by one uvicorn server; returns once it accepts connections.

    The page keeps Gradio's login form; the API takes the same `user:password` as HTTP Basic or a Bearer token.
    Gradio's queue admits `ui.concurrency` page events at a time and the app's gate (`App.gate`) admits
    `ui.concurrency` generations at a time across the page, the API and MCP."""
    import gradio as gr
    import uvicorn

    from assistant.api.http import create_api
    from assistant.ui.render import CSS

    ui = settings.ui
    auth = auth_for(ui)  # refuses a non-loopback bind without a login, as launch() does
    os.environ.setdefault("GRADIO_TEMP_DIR", str(TEMP_DIR.resolve()))
    Path(os.environ["GRADIO_TEMP_DIR"]).mkdir(parents=True, exist_ok=True)
    demo.queue(default_concurrency_limit=ui.concurrency, max_size=ui.max_queue)
    api = create_api(app, auth)
    chosen = port if port is not None else ui.port
    gr.mount_gradio_app(api, demo, path="/", server_name=ui.host, server_port=chosen, auth=auth,
                        footer_links=["api"], show_error=False, max_file_size=int(ui.max_upload_mb * 1024 * 1024),
                        ssr_mode=False, mcp_server=False, css=CSS)
    try:  # bound here, so that a port in use is one clear error, not uvicorn's log line and exit in a thread
        sock = socket.create_server((ui.host, chosen), family=socket.AF_INET6 if ":" in ui.host else socket.AF_INET)
    except OSError as e:
        raise ConfigError(f"ui.host = {ui.host!r}, ui.port = {chosen}: cannot serve there "
                          f"({e.strerror or e})") from e
    config = uvicorn.Config(api, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)

    def run() -> None:
        with contextlib.suppress(SystemExit):  # uvicorn exits when the app's start-up fails: reported below
            server.run(sockets=[sock])

    thread = threading.Thread(target=run, daemon=True, name="uvicorn")
    thread.start()
    while not server.started:
        if not thread.is_alive():
            sock.close()
            raise ConfigError(f"ui.host = {ui.host!r}, ui.port = {chosen}: the server did not start (see the log "
                              "above)")
        thread.join(0.05)
    bound = sock.getsockname()
    host = f"[{ui.host}]" if ":" in ui.host else ui.host
    return Served(server, thread, f"http://{host}:{bound[1]}/")
