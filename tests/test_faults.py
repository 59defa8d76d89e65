"""Faults: an ingest killed half-way, unusable stores, a model server that goes away and comes back."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assistant.llms.base import GenerationError
from assistant.store import PaperStore, StoreError
from tests.conftest import ROOT, make_settings

QUERIES = ["learning from error messages of a Python interpreter", "decomposed prompt tuning",
           "catastrophic forgetting in continual learning"]


def cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=900, **kw)


def chunk_count(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute("SELECT count(*) FROM embeddings").fetchone()[0]
    except sqlite3.Error:
        return 0


def consistent(store: Path) -> dict[str, int]:
    """Every paper complete (n_chunks chunks, positions 0..n-1, one hash), no duplicate ids."""
    ids, by_paper = [], {}
    for chunk_id, meta, _ in PaperStore(make_settings(store)).iter_metadata():
        ids.append(chunk_id)
        by_paper.setdefault(meta["paper_id"], []).append(meta)
    assert len(ids) == len(set(ids))
    for metas in by_paper.values():
        assert sorted(m["position"] for m in metas) == list(range(metas[0]["n_chunks"]))
        assert len({m["paper_hash"] for m in metas}) == 1
    return {"papers": len(by_paper), "chunks": len(ids)}


def test_kill_9_mid_ingest_then_resume_matches_a_clean_ingest(tmp_path, built_store):
    store = tmp_path / "index"
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "ingest", "--store", str(store), "--quiet"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and chunk_count(store / "chroma.sqlite3") == 0 and proc.poll() is None:
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    partial = consistent(store)
    assert 0 < partial["papers"] < 511, "the kill should land half-way"
    stats = json.loads(cli("stats", "--store", str(store), "--json").stdout)
    assert stats["papers"] == partial["papers"] and stats["chunks"] == partial["chunks"]

    resumed = json.loads(cli("ingest", "--store", str(store), "--quiet", "--json").stdout)
    assert resumed["papers_unchanged"] == partial["papers"]
    assert resumed["papers_new"] == 511 - partial["papers"]
    assert consistent(store) == consistent(built_store)
    for q in QUERIES:
        a = json.loads(cli("search", q, "--store", str(store), "--json").stdout)["results"]
        b = json.loads(cli("search", q, "--store", str(built_store), "--json").stdout)["results"]
        assert [r["paper_id"] for r in a] == [r["paper_id"] for r in b]


def test_read_only_store_is_a_clear_error(tmp_path, built_store):
    """A real read-only file system (a read-only bind mount): permission bits alone do not stop root."""
    import shutil

    store, mount = tmp_path / "rw", tmp_path / "ro"
    shutil.copytree(built_store, store)
    mount.mkdir()
    ok = subprocess.run(["mount", "--bind", str(store), str(mount)], capture_output=True).returncode == 0 and \
        subprocess.run(["mount", "-o", "remount,bind,ro", str(mount)], capture_output=True).returncode == 0
    if not ok:
        subprocess.run(["umount", str(mount)], capture_output=True)
        pytest.skip("needs permission to mount (root with CAP_SYS_ADMIN), as on the CI machine")
    try:
        corpus = ROOT / "data" / "corpus" / "000_7e1647b1c5aa1152.txt"
        proc = cli("ingest", str(corpus), "--store", str(mount))
        assert proc.returncode == 2 and f"store directory {mount} is read-only" in proc.stderr
        proc = cli("stats", "--store", str(mount))  # Chroma cannot even read a read-only store: say so
        assert proc.returncode == 2 and "read-only" in proc.stderr and "writable --store" in proc.stderr
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def test_locked_store_is_a_clear_error(tmp_path, built_store):
    import shutil

    store = tmp_path / "locked"
    shutil.copytree(built_store, store)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sqlite3, sys, time; con = sqlite3.connect(sys.argv[1], isolation_level=None);"
        "con.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(60)"), str(store / "chroma.sqlite3")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreError, match=rf"store {store} is locked by another process"):
            PaperStore(make_settings(store))
    finally:
        holder.kill()


def test_app_does_not_start_half_working(tmp_path):
    missing = tmp_path / "no-index"
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "app.py", "--store", str(missing), "--port", "0"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and f"no index at {missing}" in proc.stderr
    assert "Running on" not in proc.stdout and time.monotonic() - start < 60
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "chroma.sqlite3").write_bytes(b"garbage" * 1000)
    proc = subprocess.run([sys.executable, "app.py", "--store", str(corrupt), "--port", "0"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and "corrupted" in proc.stderr and "--rebuild" in proc.stderr


def test_bad_settings_wrong_type_names_the_key(tmp_path):
    cfg = tmp_path / "pa.toml"
    cfg.write_text("[retrieval]\nk = \"five\"\n")
    proc = cli("search", "x", "--config", str(cfg))
    assert proc.returncode == 2 and "retrieval.k" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


class _OpenAI(BaseHTTPRequestHandler):
    """A tiny OpenAI-compatible chat server (SSE streaming) that answers from the first source."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # /v1/models
        body = b'{"data": [{"id": "m"}]}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for word in ["DePT ", "decomposes ", "the ", "soft ", "prompt ", "into ", "low-rank ", "matrices ", "[1]."]:
            chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                     "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


def test_model_server_down_then_back(built_store, embedder):
    from assistant.llms.registry import default_registry
    from assistant.pipeline import Pipeline
    from assistant.retrieval import Retriever

    server = ThreadingHTTPServer(("127.0.0.1", 0), _OpenAI)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = make_settings(built_store, llm={"backend": "openai", "base_url": f"http://127.0.0.1:{port}/v1",
                                               "model": "m", "timeout": 5})
    pipeline = Pipeline(settings, Retriever(settings, PaperStore(settings), embedder),
                        default_registry().build(settings.llm))
    assert not pipeline.ask("What does DePT decompose the soft prompt into?").refused
    server.shutdown()
    server.server_close()
    with pytest.raises(GenerationError, match=rf"llm\.base_url http://127\.0\.0\.1:{port}/v1"):
        pipeline.ask("What does DePT decompose the soft prompt into?")
    server = ThreadingHTTPServer(("127.0.0.1", port), _OpenAI)  # back on the same port
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        answer = pipeline.ask("What does DePT decompose the soft prompt into?")
        assert not answer.refused and answer.model == "openai:m"  # the same backend, no fallback
    finally:
        server.shutdown()
