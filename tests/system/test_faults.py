"""Faults: an ingest killed half-way, unusable stores (missing, read-only, locked, corrupted), bad settings, and an
OpenAI-compatible model server on loopback that dies mid-stream, hangs or goes away and comes back.

Everything real: CLI subprocesses, Chroma stores in temp dirs, a real HTTP server speaking the chat-completions
SSE protocol. Every wait is bounded by a deadline.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assistant.app import build
from assistant.llms.base import GenerationError
from assistant.search.store import PaperStore, StoreError
from tests.support import ROOT, make_settings

QUERIES = ["learning from error messages of a Python interpreter", "catastrophic forgetting in continual learning"]
CORPUS_PAPERS = 511


def cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    """The CLI's contract for known errors: exit 2 and a single `error: ...` line, no traceback."""
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-2000:]
    return lines[0]


# -- kill -9 half-way through an ingest -----------------------------------------------------------------------


def chunk_count(db: Path) -> int:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as con:
            return con.execute("SELECT count(*) FROM embeddings").fetchone()[0]
    except sqlite3.Error:
        return 0


def consistent(store: Path) -> dict[str, int]:
    """Every paper complete (n_chunks chunks at positions 0..n-1, one paper_hash), no duplicate chunk ids."""
    ids, by_paper = [], {}
    for chunk in PaperStore(make_settings(store)).iter_chunks():
        ids.append(chunk.chunk_id)
        by_paper.setdefault(chunk.paper_id, []).append(chunk)
    assert len(ids) == len(set(ids)), "duplicate chunk ids"
    for pid, metas in by_paper.items():
        assert sorted(m.position for m in metas) == list(range(metas[0].n_chunks)), f"{pid} incomplete"
        assert len({m.paper_hash for m in metas}) == 1, f"{pid} mixes two versions"
    return {"papers": len(by_paper), "chunks": len(ids)}


def search_json(store: Path, query: str) -> list[tuple[str, str, float]]:
    results = json.loads(cli("search", query, "--store", str(store), "--json").stdout)["results"]
    return [(r["paper_id"], r["title"], round(r["score"], 4)) for r in results]


@pytest.mark.slow  # a long job: the resumed ingest embeds nearly the whole corpus in a fresh CLI process
def test_kill_9_mid_ingest_then_resume_matches_a_clean_ingest(tmp_path, built_store):
    store = tmp_path / "index"
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "ingest", "--store", str(store), "--quiet"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None and chunk_count(store / "chroma.sqlite3") == 0:
            time.sleep(0.2)
    finally:
        proc.kill()  # SIGKILL: no cleanup handler runs
        proc.wait(timeout=30)
    assert proc.returncode == -9, f"the ingest ended on its own (exit {proc.returncode}) before the kill"
    partial = consistent(store)
    assert 0 < partial["papers"] < CORPUS_PAPERS, partial

    stats = json.loads(cli("stats", "--store", str(store), "--json").stdout)
    assert (stats["papers"], stats["chunks"]) == (partial["papers"], partial["chunks"])

    resumed = json.loads(cli("ingest", "--store", str(store), "--quiet", "--json").stdout)
    assert resumed["papers_unchanged"] == partial["papers"]  # nothing written before the kill is redone
    assert resumed["papers_new"] + resumed["papers_updated"] == CORPUS_PAPERS - partial["papers"]
    clean = consistent(built_store)
    assert consistent(store) == clean and clean["papers"] == CORPUS_PAPERS
    again = json.loads(cli("ingest", "--store", str(store), "--quiet", "--json").stdout)
    assert again["papers_unchanged"] == CORPUS_PAPERS and again["chunks_embedded"] == 0
    for q in QUERIES:
        assert search_json(store, q) == search_json(built_store, q)


# -- unusable stores: a clear error naming the path, and the app refuses to start --------------------------------


@contextlib.contextmanager
def read_only(store: Path, tmp_path: Path) -> Iterator[Path]:
    """A read-only view of `store`. Root ignores permission bits, so: a read-only bind mount, else an immutable
    directory (chattr +i); skip when neither is permitted (an unprivileged container)."""
    mount = tmp_path / "ro"
    mount.mkdir()
    ok = subprocess.run(["mount", "--bind", str(store), str(mount)], capture_output=True).returncode == 0
    if ok and subprocess.run(["mount", "-o", "remount,bind,ro", str(mount)], capture_output=True).returncode == 0:
        try:
            yield mount
        finally:
            subprocess.run(["umount", str(mount)], capture_output=True)
        return
    if ok:
        subprocess.run(["umount", str(mount)], capture_output=True)
    if shutil.which("chattr") and subprocess.run(["chattr", "+i", str(store)], capture_output=True).returncode == 0:
        try:
            yield store
        finally:
            subprocess.run(["chattr", "-i", str(store)], capture_output=True)
        return
    pytest.skip("needs mount (CAP_SYS_ADMIN) or chattr (CAP_LINUX_IMMUTABLE) to make a store read-only for root")


@contextlib.contextmanager
def locked(store: Path) -> Iterator[Path]:
    """Another process holds an exclusive sqlite lock on the store's database (at most 120 s)."""
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sqlite3, sys, time; con = sqlite3.connect(sys.argv[1], isolation_level=None);"
        "con.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(120)"), str(store / "chroma.sqlite3")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield store
    finally:
        holder.kill()
        holder.wait(timeout=30)


def _garbage(store: Path) -> None:
    store.mkdir()
    (store / "chroma.sqlite3").write_bytes(b"not a database " * 1000)


def _truncated(store: Path, built: Path) -> None:
    shutil.copytree(built, store)
    db = store / "chroma.sqlite3"
    with db.open("r+b") as fh:
        fh.truncate(db.stat().st_size // 2)


def _scrambled(store: Path, built: Path) -> None:
    """Pages in the middle of a real store overwritten: sqlite's integrity check reports a hundred problems."""
    shutil.copytree(built, store)
    db = store / "chroma.sqlite3"
    data = bytearray(db.read_bytes())
    mid = len(data) // 2 // 4096
    for page in range(mid, mid + 40):
        data[page * 4096 + 100 : page * 4096 + 4000] = bytes((page * 7 + i) % 251 for i in range(3900))
    db.write_bytes(bytes(data))


CORRUPTIONS = {"garbage": lambda s, b: _garbage(s), "truncated": _truncated, "scrambled": _scrambled}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_corrupted_store_is_one_clear_line_with_advice_that_works(tmp_path, built_store, kind):
    store = tmp_path / "index"
    CORRUPTIONS[kind](store, built_store)
    line = one_line_error(cli("stats", "--store", str(store)))
    assert f"store {store} is corrupted" in line and f"ingest --store {store}" in line
    assert len(line) < 400
    # The advice works: --rebuild alone cannot open the file either, moving the directory away does.
    assert "is corrupted" in one_line_error(cli("ingest", "--rebuild", "--quiet", "--store", str(store)))


def test_read_only_store_is_a_clear_error(tmp_path, built_store):
    store = tmp_path / "rw"
    shutil.copytree(built_store, store)
    with read_only(store, tmp_path) as ro:
        corpus = ROOT / "data" / "corpus" / "000_7e1647b1c5aa1152.txt"
        line = one_line_error(cli("ingest", str(corpus), "--store", str(ro)))
        assert f"store directory {ro} is read-only" in line and "writable --store" in line
        line = one_line_error(cli("stats", "--store", str(ro)))  # Chroma cannot even read a read-only store
        assert f"store directory {ro} is read-only" in line
        with pytest.raises(StoreError, match="read-only"):
            PaperStore(make_settings(ro))


def test_read_only_database_file_is_named(tmp_path, built_store):
    store = tmp_path / "index"
    shutil.copytree(built_store, store)
    db = store / "chroma.sqlite3"
    if subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode != 0:
        pytest.skip("needs chattr (CAP_LINUX_IMMUTABLE) to make a file read-only for root")
    try:
        line = one_line_error(cli("stats", "--store", str(store)))
        assert f"store database {db} is read-only" in line
    finally:
        subprocess.run(["chattr", "-i", str(db)], capture_output=True)


def test_locked_store_is_a_clear_error(tmp_path, built_store):
    store = tmp_path / "locked"
    shutil.copytree(built_store, store)
    with locked(store):
        with pytest.raises(StoreError, match=rf"store {store} is locked by another process"):
            PaperStore(make_settings(store))
        line = one_line_error(cli("search", "prompt tuning", "--store", str(store)))
        assert f"store {store} is locked by another process" in line
    assert PaperStore(make_settings(store)).count_chunks() > 0  # usable again once the other process is gone


def test_store_path_that_is_a_file(tmp_path):
    path = tmp_path / "index"
    path.write_text("not a directory")
    assert f"store path {path} is not a directory" in one_line_error(cli("stats", "--store", str(path)))


def test_pipeline_refuses_to_build_on_a_bad_store(tmp_path, built_store):
    """The app builds its pipeline before it serves: a bad store stops it there, with the path in the error."""
    from assistant.app import build
    from assistant.llms.fake import FakeBackend

    missing, corrupt, held = tmp_path / "missing", tmp_path / "corrupt", tmp_path / "held"
    _garbage(corrupt)
    shutil.copytree(built_store, held)
    for store, needle in ((missing, "no index at"), (corrupt, "is corrupted")):
        with pytest.raises(StoreError, match=needle) as err:
            build(make_settings(store), backend=FakeBackend())
        assert str(store) in str(err.value)
    with locked(held), pytest.raises(StoreError, match="locked by another process"):
        build(make_settings(held), backend=FakeBackend())


def serve_app(store: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "app.py", "--store", str(store), "--port", "0"], capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout)


def test_app_does_not_start_half_working(tmp_path, built_store):
    missing, corrupt, held = tmp_path / "no-index", tmp_path / "corrupt", tmp_path / "held"
    _garbage(corrupt)
    shutil.copytree(built_store, held)
    start = time.monotonic()
    proc = serve_app(missing)
    assert f"no index at {missing}" in one_line_error(proc) and "Running on" not in proc.stdout
    proc = serve_app(corrupt)
    assert f"store {corrupt} is corrupted" in one_line_error(proc) and "Running on" not in proc.stdout
    with locked(held):
        proc = serve_app(held)
    assert f"store {held} is locked" in one_line_error(proc) and "Running on" not in proc.stdout
    assert time.monotonic() - start < 180


def test_corrupted_derived_indexes_heal(tmp_path, built_store, embedder):
    """The HNSW segment files and the BM25 index are derived from the sqlite log: garbage in them is rebuilt and
    search returns exactly what the intact store returns."""
    from assistant.search.retriever import Retriever

    store = tmp_path / "index"
    shutil.copytree(built_store, store)
    for f in [*store.glob("*-*-*-*-*/*.bin"), *store.glob("bm25/*/index.json")]:
        f.write_bytes(b"\xff" * 4096)

    def top(path: Path) -> list[str]:
        settings = make_settings(path)
        return [h.paper_id for h in Retriever(settings, PaperStore(settings), embedder).search(QUERIES[1], 5)]

    assert top(store) == top(built_store)


# -- bad settings --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "needle"),
    [("[retrieval]\nk = \"five\"\n", "retrieval.k"), ("[llm]\ntemprature = 0.2\n", "llm.temprature: unknown setting"),
     ("[ui]\nport = 70000\n", "ui.port"), ("colour = \"blue\"\n", "colour: unknown setting")],
)
def test_bad_settings_file_is_one_line_naming_the_key(tmp_path, text, needle):
    cfg = tmp_path / "pa.toml"
    cfg.write_text(text)
    line = one_line_error(cli("search", "x", "--config", str(cfg)))
    assert needle in line and str(cfg) in line


# -- the model server fails: mid-stream, hangs, goes away; then comes back ------------------------------------

WORDS = ["DePT ", "decomposes ", "the ", "soft ", "prompt ", "into ", "a ", "shorter ", "prompt ", "and ",
         "low-rank ", "matrices ", "[1]."]


class ModelServer(ThreadingHTTPServer):
    """A real OpenAI-compatible chat server (SSE over chunked HTTP/1.1, like uvicorn-based servers) whose behaviour
    the test switches: ok, die (connection dropped mid-stream), eof (a close-delimited body that ends before the
    final chunk), hang (stops sending mid-stream), silent (never answers)."""

    daemon_threads = True

    def __init__(self, port: int = 0) -> None:
        self.mode = "ok"
        self.requests = 0
        self.release = threading.Event()  # ends hangs early at teardown
        super().__init__(("127.0.0.1", port), _ChatHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that went away mid-stream is the point of these tests

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def stop(self) -> None:
        self.release.set()
        self.shutdown()
        self.server_close()


class _ChatHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ModelServer

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # /v1/models, used by the readiness check
        body = b'{"object": "list", "data": [{"id": "m", "object": "model"}]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send(self, data: bytes, chunked: bool) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data)
        self.wfile.flush()

    def _event(self, delta: dict, finish: str | None, chunked: bool) -> None:
        chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        self._send(f"data: {json.dumps(chunk)}\n\n".encode(), chunked)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests += 1
        mode = self.server.mode
        if mode == "silent":
            self.server.release.wait(30)
            return
        chunked = mode != "eof"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked") if chunked else self.send_header("Connection", "close")
        self.end_headers()
        self._event({"role": "assistant", "content": ""}, None, chunked)
        for i, word in enumerate(WORDS):
            if i == 4 and mode in ("die", "eof"):
                self.connection.shutdown(socket.SHUT_RDWR)  # the server process died
                self.close_connection = True
                return
            if i == 4 and mode == "hang":
                self.server.release.wait(30)
                return
            self._event({"content": word}, None, chunked)
        self._event({}, "stop", chunked)
        self._send(b"data: [DONE]\n\n", chunked)
        self._send(b"", chunked)  # the last chunk of a chunked body


@pytest.fixture
def model_server() -> Iterator[ModelServer]:
    server = ModelServer()
    try:
        yield server
    finally:
        server.stop()


def openai_settings(store: Path, url: str, **ui):
    return make_settings(store, llm={"backend": "openai", "base_url": url, "model": "m", "timeout": 2},
                         ui={"port": 0, **ui})


QUESTION = "What does DePT decompose the soft prompt into?"


@pytest.mark.parametrize("mode", ["die", "eof", "hang", "silent"])
def test_model_server_failure_is_a_generation_error_naming_the_url(model_server, built_store, embedder, mode):
    from assistant.answer.pipeline import SourcesFound

    settings = openai_settings(built_store, model_server.url)
    pipeline = build(settings, embedder=embedder).pipeline
    assert not pipeline.ask(QUESTION).refused
    model_server.mode = mode
    events, start = [], time.monotonic()
    with pytest.raises(GenerationError) as err:
        events.extend(pipeline.stream(QUESTION))
    message = str(err.value)
    assert f"llm.base_url {model_server.url}" in message
    if mode in ("hang", "silent"):
        assert "llm.timeout" in message and time.monotonic() - start < 20
    assert isinstance(events[0], SourcesFound) and events[0].sources  # retrieval had worked
    model_server.mode = "ok"
    answer = pipeline.ask(QUESTION)
    assert not answer.refused and answer.model == "openai:m" and "low-rank" in answer.answer  # same backend


def test_model_server_down_then_back(built_store, embedder):
    from assistant.llms.builtin import default_registry

    server = ModelServer()
    port = server.server_address[1]
    settings = openai_settings(built_store, server.url)
    pipeline = build(settings, embedder=embedder).pipeline
    assert not pipeline.ask(QUESTION).refused
    server.stop()
    with pytest.raises(GenerationError, match=rf"llm\.base_url http://127\.0\.0\.1:{port}/v1"):
        pipeline.ask(QUESTION)
    assert not default_registry().check(settings.llm).ready  # the readiness probe says so too
    server = ModelServer(port)  # back on the same port
    try:
        answer = pipeline.ask(QUESTION)
        assert not answer.refused and answer.model == "openai:m"  # the same backend, no fallback
    finally:
        server.stop()


def test_chat_shows_the_failure_keeps_the_sources_and_recovers(model_server, built_store, embedder):
    """Through the served app: a stream cut mid-answer shows a clear error, the sources stay, the next question
    works once the server is back; the answer still comes from the configured server (no fallback)."""
    from gradio_client import Client

    from assistant.llms.builtin import default_registry
    from assistant.ui.page import build_app
    from assistant.ui.serve import launch

    settings = openai_settings(built_store, model_server.url)
    demo = launch(build_app(build(settings, registry=default_registry(), embedder=embedder)),
                  settings, block=False)
    try:
        client = Client(demo.local_url, verbose=False, download_files=False)
        model_server.mode = "die"
        chat, panel, _ = client.predict(QUESTION, [], "openai", 5, True, False, api_name="/chat")
        shown = str(chat[-1]["content"])
        assert "The model failed" in shown and f"llm.base_url {model_server.url}" in shown
        assert "DePT" in panel and 'id="src-1"' in panel and "generation failed" in panel
        served = model_server.requests
        model_server.mode = "ok"
        chat, panel, _ = client.predict(QUESTION, [], "openai", 5, True, False, api_name="/chat")
        shown = str(chat[-1]["content"])
        assert "low-rank matrices" in shown and "openai:m" in shown and "failed" not in shown
        assert model_server.requests > served
    finally:
        demo.close()
