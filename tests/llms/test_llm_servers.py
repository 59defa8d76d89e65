"""Server backends against real HTTP servers on 127.0.0.1: llama-cpp-python's OpenAI-compatible server with a
real small model, a server that dies mid-stream or hangs, and an Ollama-protocol server."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from assistant.config import LLMSettings
from assistant.llms.base import GenerationError, Request
from assistant.llms.builtin import default_registry
from assistant.llms.registry import BackendPool
from tests.support import ROOT

MESSAGES = [{"role": "system", "content": "You are brief."}, {"role": "user", "content": "Say hello in five words."}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not come up in {seconds}s")


def start_llama_server(model: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1", "--port",
         str(port), "--n_ctx", "4096", "--model_alias", "smol"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/v1/models")
    except AssertionError:
        proc.kill()
        raise
    return proc


@pytest.fixture(scope="module")
def smol_gguf(tmp_path_factory) -> Path:
    from assistant.llms.embedded import MODELS, ensure_model

    return ensure_model(MODELS["smollm2-135m"], tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def llama_server(smol_gguf) -> Iterator[str]:
    port = free_port()
    proc = start_llama_server(smol_gguf, port)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_openai_backend_streams_from_a_real_server(llama_server):
    llm = LLMSettings(backend="openai", base_url=llama_server, model="smol", timeout=60)
    assert default_registry().check(llm).ready
    backend = default_registry().build(llm)
    pieces = list(backend.generate(Request(messages=MESSAGES, max_tokens=24)))
    assert len(pieces) > 1 and "".join(pieces).strip()
    assert backend.name == "openai:smol"
    short = list(backend.generate(Request(messages=MESSAGES, max_tokens=3)))  # the request's limit, not the setting's
    assert 1 <= len(short) <= 3


@pytest.mark.slow
def test_pipeline_answers_through_the_server(llama_server, built_store, embedder):
    from assistant.answer.pipeline import Pipeline
    from assistant.search.retriever import Retriever
    from assistant.search.store import PaperStore
    from tests.support import make_settings

    settings = make_settings(built_store, llm={"backend": "openai", "base_url": llama_server, "model": "smol",
                                               "max_tokens": 48})
    backend = default_registry().build(settings.llm)
    answer = Pipeline(settings, Retriever(settings, PaperStore(settings), embedder), BackendPool.of(backend)).ask(
        "How does LeTI use error messages from the Python interpreter?")
    assert answer.model == "openai:smol" and answer.answer and answer.timings.first_token is not None
    assert all(c.n in {s.n for s in answer.sources} for c in answer.citations)


@pytest.mark.slow
def test_server_dying_mid_stream_is_a_generation_error(smol_gguf):
    port = free_port()
    proc = start_llama_server(smol_gguf, port)
    try:
        llm = LLMSettings(backend="openai", base_url=f"http://127.0.0.1:{port}/v1", model="smol", timeout=30)
        stream = default_registry().build(llm).generate(Request(messages=[
            {"role": "user", "content": "Count from one to five hundred in words, one per line."}], max_tokens=600))
        first = next(stream)
        assert first
        proc.kill()
        proc.wait(timeout=30)
        with pytest.raises(GenerationError, match=rf"llm\.base_url http://127\.0\.0\.1:{port}/v1"):
            for _ in stream:
                pass
        # And a request after the server is gone fails before any text, naming the same setting and URL.
        with pytest.raises(GenerationError, match=rf"llm\.base_url http://127\.0\.0\.1:{port}/v1: the model"):
            list(default_registry().build(llm).generate(Request(messages=MESSAGES)))
        assert not default_registry().check(llm).ready
    finally:
        proc.kill()


class _Hang(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        time.sleep(5)

    def log_message(self, *args: object) -> None:
        pass


class _Ollama(BaseHTTPRequestHandler):
    """The parts of Ollama's API the backend uses: /api/tags and streaming /api/chat (NDJSON)."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._json({"models": [{"name": "tiny:latest"}]})

    def _json(self, data: dict) -> None:
        body = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(request)  # type: ignore[attr-defined]
        if request["model"] == "missing":
            body = json.dumps({"error": "model 'missing' not found"}).encode()
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        for word in ["LeTI ", "learns ", "from ", "feedback ", "[1]."]:
            line = {"model": request["model"], "created_at": "2026-11-23T00:00:00Z",
                    "message": {"role": "assistant", "content": word}, "done": False}
            self.wfile.write((json.dumps(line) + "\n").encode())
            self.wfile.flush()
        done = {"model": request["model"], "created_at": "2026-11-23T00:00:00Z",
                "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop"}
        self.wfile.write((json.dumps(done) + "\n").encode())


def serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.requests = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def test_a_server_that_hangs_times_out_with_the_url():
    server, url = serve(_Hang)
    try:
        llm = LLMSettings(backend="openai", base_url=f"{url}/v1", model="m", timeout=1)
        backend = default_registry().build(llm)  # built (and its client imported) before the clock starts
        start = time.monotonic()
        with pytest.raises(GenerationError, match=r"llm\.base_url .*: the model server failed"):
            list(backend.generate(Request(messages=MESSAGES)))
        assert time.monotonic() - start < 4.5
    finally:
        server.shutdown()


def test_ollama_backend_streams_ndjson():
    server, url = serve(_Ollama)
    try:
        llm = LLMSettings(backend="ollama", base_url=url, model="tiny", max_tokens=32)
        assert default_registry().check(llm).ready
        pieces = list(default_registry().build(llm).generate(Request(messages=MESSAGES, max_tokens=32, stop=["\n\n"])))
        assert "".join(pieces) == "LeTI learns from feedback [1]."
        sent = server.requests[-1]  # type: ignore[attr-defined]
        assert sent["model"] == "tiny" and sent["stream"] is True and sent["messages"][-1]["role"] == "user"
        assert sent["options"]["num_predict"] == 32 and sent["options"]["temperature"] == 0.0
        assert sent["options"]["stop"] == ["\n\n"]
    finally:
        server.shutdown()


def test_ollama_errors_name_the_url():
    server, url = serve(_Ollama)
    try:
        llm = LLMSettings(backend="ollama", base_url=url, model="missing")
        with pytest.raises(GenerationError, match=rf"llm\.base_url {url}: .*model 'missing' not found"):
            list(default_registry().build(llm).generate(Request(messages=MESSAGES)))
    finally:
        server.shutdown()
        server.server_close()  # now nothing listens: connection refused
    gone = LLMSettings(backend="ollama", base_url=url, model="tiny", timeout=5)
    with pytest.raises(GenerationError, match=rf"llm\.base_url {url}: the model server failed"):
        list(default_registry().build(gone).generate(Request(messages=MESSAGES)))
    assert not default_registry().check(gone).ready
