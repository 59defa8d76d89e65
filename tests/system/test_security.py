"""Security of the served app and the CLI: loopback by default and a real login when exposed, no endpoint reads
files from disk or fetches internal URLs, uploads are capped, corpus text is escaped in the HTTP output and in
the terminal, and a model file changed behind the cache's back is re-checked.

The browser-side XSS checks live in test_ui_browser.py; these tests look at what the server sends.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import psutil
import pytest

from assistant.app import build
from assistant.config import UISettings
from assistant.ingest.corpus import read_paths
from assistant.ingest.index import ingest
from assistant.llms.base import BackendSpec, Readiness
from assistant.llms.fake import FakeBackend
from assistant.llms.registry import Registry
from assistant.ui.page import build_app
from assistant.ui.serve import is_loopback, launch
from tests.support import ROOT, make_settings

EVIL = {"title": "Wombat <script>alert('t')</script> Parsing",
        "abstract": "Wombat parsing <img src=x onerror=alert('a')> parses wombat burrow maps into trees. " * 3,
        "url": "https://example.org/wombat\"><script>alert('u')</script>"}
# Terminal control sequences: clear screen, set the window title, ring the bell, a C1 CSI.
ESCAPES = {"title": "Numbat \x1b[2J\x1b]0;owned\x07Grammars \x9b31m",
           "abstract": "Numbat grammars parse numbat \x1b[31mtermite\x1b[0m mound layouts into grammars. "
                       "Numbat grammars beat baselines on mound layout parsing by 12 points."}


def fake_registry() -> Registry:
    registry = Registry()
    fake = FakeBackend()
    registry.register(BackendSpec("fake", "scripted", lambda s: fake, lambda s: Readiness(True, "ok")))
    return registry


@pytest.fixture(scope="module")
def evil_store(tmp_path_factory, embedder) -> Path:
    data = tmp_path_factory.mktemp("sec") / "evil.jsonl"
    data.write_text(json.dumps(EVIL) + "\n" + json.dumps(ESCAPES) + "\n")
    store = tmp_path_factory.mktemp("sec-store") / "index"
    ingest(read_paths([data]).papers, make_settings(store), embedder, progress=False)
    return store


@pytest.fixture(scope="module")
def app(evil_store, embedder) -> Iterator[tuple[str, Path]]:
    settings = make_settings(evil_store, llm={"backend": "fake"}, ui={"port": 0, "max_upload_mb": 2})
    demo = launch(build_app(build(settings, registry=fake_registry(), embedder=embedder)), settings,
                  block=False)
    try:
        yield demo.local_url.rstrip("/"), evil_store
    finally:
        demo.close()


def client(base: str, **kw):
    from gradio_client import Client

    return Client(base, verbose=False, download_files=False, **kw)


# -- binding and login ---------------------------------------------------------------------------------------


def test_loopback_by_default_and_only_loopback_is_bound(app):
    assert is_loopback(UISettings().host)
    base, _ = app
    port = int(base.rsplit(":", 1)[1])
    bound = {c.laddr.ip for c in psutil.Process().net_connections("inet")
             if c.status == psutil.CONN_LISTEN and c.laddr.port == port}
    assert bound == {"127.0.0.1"}


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "paper-box.local"])
def test_serve_refuses_to_expose_the_app_without_a_login(tmp_path, host):
    env = {k: v for k, v in os.environ.items() if k != "PAPER_ASSISTANT_AUTH"}
    proc = subprocess.run([sys.executable, "app.py", "--host", host, "--port", "0", "--store", str(tmp_path / "none")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, env=env)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-1000:]
    assert f"ui.host = {host!r} exposes the app" in lines[0] and "PAPER_ASSISTANT_AUTH" in lines[0]
    assert "Running on" not in proc.stdout  # refused before the store or the page were touched


def test_a_configured_login_is_enforced_over_http(evil_store, embedder, monkeypatch):
    monkeypatch.setenv("PAPER_ASSISTANT_AUTH", "ana:correct-horse")
    settings = make_settings(evil_store, llm={"backend": "fake"}, ui={"port": 0})
    demo = launch(build_app(build(settings, registry=fake_registry(), embedder=embedder)), settings,
                  block=False)
    try:
        base = demo.local_url.rstrip("/")
        assert httpx.get(f"{base}/gradio_api/info", timeout=10).status_code == 401
        assert httpx.get(f"{base}/gradio_api/file=/etc/passwd", timeout=10).status_code == 401
        upload = httpx.post(f"{base}/gradio_api/upload", files={"files": ("a.bib", b"@article{a,}")}, timeout=10)
        assert upload.status_code == 401  # adding papers needs the same login as the page
        bad = httpx.post(f"{base}/login", data={"username": "ana", "password": "wrong"}, timeout=10)
        assert bad.status_code == 400
        with pytest.raises(Exception):  # noqa: B017 - gradio_client raises a bare ValueError/AuthenticationError
            client(base)
        results, _ = client(base, auth=("ana", "correct-horse")).predict("wombat", api_name="/browse")
        assert "Wombat" in results
    finally:
        demo.close()


# -- no file reads, no internal fetches, bounded uploads ---------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/gradio_api/file=/etc/passwd", "/file=/etc/passwd", "/gradio_api/file=../../../../etc/passwd",
     "/gradio_api/file=%2Fetc%2Fpasswd", "/gradio_api/file=/proc/self/environ", "/static/../../../../etc/passwd",
     "/assets/../../../../etc/passwd", "/gradio_api/file=%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
     "/gradio_api/file=//etc/passwd", "/gradio_api/file=/etc/./passwd", "/gradio_api/file=file:///etc/passwd"],
)
def test_file_routes_do_not_serve_system_files(app, path):
    base, _ = app
    response = httpx.get(base + path, timeout=10)
    assert response.status_code in (400, 403, 404, 405)
    assert "root:x:0:0" not in response.text and "PATH=" not in response.text


def test_file_routes_do_not_serve_the_store_or_the_code(app):
    base, store = app
    targets = [store / "chroma.sqlite3", store, *store.glob("bm25/*/index.json"), ROOT / "pyproject.toml",
               ROOT / "app.py", ROOT / "assistant" / "config.py", Path("pyproject.toml"), Path("app.py")]
    for target in targets:
        response = httpx.get(f"{base}/gradio_api/file={target}", timeout=10)
        assert response.status_code in (400, 403, 404), (target, response.status_code)
        assert "SQLite format" not in response.text and "[project]" not in response.text


class _Secret(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.hits += 1  # type: ignore[attr-defined]
        body = b"internal-secret"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_file_route_does_not_fetch_internal_urls(app):
    """Gradio proxies http URLs given to /file=; an internal service (a local model server, Chroma) stays out."""
    base, _ = app
    secret = ThreadingHTTPServer(("127.0.0.1", 0), _Secret)
    secret.hits = 0  # type: ignore[attr-defined]
    threading.Thread(target=secret.serve_forever, daemon=True).start()
    try:
        port = secret.server_address[1]
        for url in (f"http://127.0.0.1:{port}/v1/models", f"http://localhost:{port}/", f"http://[::1]:{port}/",
                    f"http://0.0.0.0:{port}/", f"http://2130706433:{port}/"):
            response = httpx.get(f"{base}/gradio_api/file={url}", timeout=10)
            assert response.status_code in (400, 403, 404), (url, response.status_code)
            assert "internal-secret" not in response.text
        assert secret.hits == 0  # type: ignore[attr-defined]
    finally:
        secret.shutdown()
        secret.server_close()


def test_uploads_are_capped(app):
    """Gradio's upload route takes no file over ui.max_upload_mb (2 MB here): a client cannot fill the disk."""
    base, _ = app
    big = os.urandom(5 * 1024 * 1024)
    response = httpx.post(f"{base}/gradio_api/upload", files={"files": ("big.bin", big)}, timeout=30)
    assert response.status_code in (400, 403, 413), response.status_code


# -- corpus text escaped where it is shown -------------------------------------------------------------------


def test_corpus_text_is_escaped_in_the_http_output(app):
    base, _ = app
    chat, panel, _ = client(base).predict("What does wombat parsing do?", [], "fake", 5, True, False,
                                          api_name="/chat")
    assert "<script>" not in panel and "<img" not in panel and "&lt;img src=x" in panel
    assert "&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt;" in panel
    assert "<script>" not in str(chat) and "<img" not in str(chat)
    assert 'href="https://example.org/wombat' not in panel  # a URL that breaks out of its quotes is not linked


def test_browse_and_paper_endpoints_escape_too(app):
    base, _ = app
    c = client(base)
    results, pick = c.predict("wombat", api_name="/browse")
    assert "<script>" not in results and "&lt;script&gt;" in results
    paper_id = pick["value"] if isinstance(pick, dict) else pick
    shown = c.predict(paper_id, api_name="/paper")
    assert "<script>" not in shown and "<img" not in shown and "&lt;img src=x" in shown


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def test_terminal_control_sequences_in_corpus_text_are_not_printed(evil_store):
    """A title or abstract holding escape sequences must not clear the screen or retitle the user's terminal."""
    search = cli("search", "numbat grammars", "--store", str(evil_store), "--k", "2")
    assert search.returncode == 0, search.stderr[-1000:]
    assert "Numbat" in search.stdout and "Grammars" in search.stdout
    ask = cli("ask", "What do numbat grammars parse?", "--store", str(evil_store), "--model", "extractive")
    assert ask.returncode == 0, ask.stderr[-1000:]
    assert "termite" in ask.stdout
    for out in (search.stdout, ask.stdout, ask.stderr):
        assert not any(ch in out for ch in "\x1b\x07\x9b\x00"), repr(out[:300])
    as_json = cli("search", "numbat grammars", "--store", str(evil_store), "--json")
    assert "\x1b" not in as_json.stdout  # JSON escapes control characters; the data itself is kept
    assert json.loads(as_json.stdout)["results"][0]["title"] == ESCAPES["title"]


# -- model files: a cached verification does not vouch for a changed file -----------------------------------------


def test_a_cache_file_changed_in_place_with_its_mtime_restored_is_rehashed(tmp_path):
    """Tools such as `rsync --inplace -t` or `touch -r` keep size, inode and mtime: the cached check must still
    notice (the inode's change time cannot be set back)."""
    from assistant.llms.embedded import join_verified, stamp_valid

    part = tmp_path / "part1.bin"
    part.write_bytes(b"GGUF" + os.urandom(4096))
    good = hashlib.sha256(part.read_bytes()).hexdigest()
    target = join_verified([part], tmp_path / "cache" / "m.gguf", good, "llm.backend = 'm'")
    assert stamp_valid(target, good)
    before = target.stat()
    with target.open("r+b") as fh:  # same size, same inode
        fh.seek(1000)
        fh.write(b"\x00" * 16)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = target.stat()
    assert (after.st_size, after.st_ino, after.st_mtime_ns) == (before.st_size, before.st_ino, before.st_mtime_ns)
    assert not stamp_valid(target, good)
