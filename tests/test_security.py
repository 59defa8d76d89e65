"""Security of the served app: no endpoint reads files from disk; corpus text is escaped in the HTTP output."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from assistant.corpus import read_paths
from assistant.index import ingest
from assistant.llms.base import Readiness
from assistant.llms.fake import FakeBackend
from assistant.llms.registry import BackendSpec, Registry
from assistant.retrieval import Retriever
from assistant.serve_cli import launch
from assistant.store import PaperStore
from assistant.ui import build_app
from tests.conftest import make_settings

EVIL = {"title": "Wombat <script>alert('t')</script> Parsing",
        "abstract": "Wombat parsing <img src=x onerror=alert('a')> parses wombat burrow maps into trees. " * 3,
        "url": "https://example.org/wombat\"><script>alert('u')</script>"}


@pytest.fixture(scope="module")
def app(tmp_path_factory, embedder) -> Iterator[tuple[str, object]]:
    data = tmp_path_factory.mktemp("sec") / "evil.jsonl"
    data.write_text(json.dumps(EVIL) + "\n")
    store = tmp_path_factory.mktemp("sec-store") / "index"
    ingest(read_paths([data]).papers, make_settings(store), embedder, progress=False)
    registry = Registry()
    fake = FakeBackend()
    registry.register(BackendSpec("fake", "scripted", lambda s: fake, lambda s: Readiness(True, "ok")))
    settings = make_settings(store, llm={"backend": "fake"}, ui={"port": 0})
    demo = launch(build_app(Retriever(settings, PaperStore(settings), embedder), settings, registry), settings,
                  block=False)
    try:
        yield demo.local_url.rstrip("/"), store
    finally:
        demo.close()


@pytest.mark.parametrize(
    "path",
    ["/gradio_api/file=/etc/passwd", "/file=/etc/passwd", "/gradio_api/file=../../../../etc/passwd",
     "/gradio_api/file=%2Fetc%2Fpasswd", "/gradio_api/file=/proc/self/environ", "/static/../../../../etc/passwd",
     "/assets/../../../../etc/passwd"],
)
def test_file_routes_do_not_serve_system_files(app, path):
    base, _ = app
    response = httpx.get(base + path, timeout=10)
    assert response.status_code in (400, 403, 404, 405) or "root:" not in response.text
    assert "root:x:0:0" not in response.text and "PATH=" not in response.text


def test_file_routes_do_not_serve_the_store(app):
    base, store = app
    for target in (store / "chroma.sqlite3", store.parent):
        response = httpx.get(f"{base}/gradio_api/file={target}", timeout=10)
        assert response.status_code in (400, 403, 404) and "SQLite format" not in response.text


def test_corpus_text_is_escaped_in_the_http_output(app):
    from gradio_client import Client

    base, _ = app
    chat, panel, _ = Client(base, verbose=False).predict("What does wombat parsing do?", [], "fake", 5, True, False,
                                                         api_name="/chat")
    assert "<script>" not in panel and "<img" not in panel and "&lt;img src=x" in panel
    assert "&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt;" in panel
    assert "<script>" not in str(chat)
    assert 'href="https://example.org/wombat' not in panel  # a URL that breaks out of its quotes is not linked


def test_browse_endpoint_escapes_too(app):
    from gradio_client import Client

    base, _ = app
    results, _ = Client(base, verbose=False).predict("wombat", api_name="/browse")
    assert "<script>" not in results and "&lt;script&gt;" in results
