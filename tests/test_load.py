"""Load: 20 concurrent chat sessions of 3 questions each against the app on loopback (fake backend streaming
with a per-word delay), and a small run with the real embedded model (slow). Every loop is bounded."""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

import psutil
import pytest

from assistant.llms.base import Readiness
from assistant.llms.fake import FakeBackend
from assistant.llms.registry import BackendSpec, Registry, default_registry
from assistant.retrieval import Retriever
from assistant.serve_cli import launch
from assistant.store import PaperStore
from assistant.ui import build_app
from tests.conftest import make_settings

QUESTIONS = ["What is DePT?", "and how does it save memory?", "Which papers study catastrophic forgetting?"]
DEADLINE = 300  # seconds for the whole run


def session(url: str, backend: str, questions: list[str]) -> list[tuple[float, str]]:
    from gradio_client import Client

    client = Client(url, verbose=False)
    out = []
    for q in questions:
        start = time.perf_counter()
        chat, _panel, _ = client.predict(q, [], backend, 5, True, False, api_name="/chat")
        out.append((time.perf_counter() - start, str(chat[-1]["content"])))
    return out


def run_load(url: str, backend: str, sessions: int, questions: list[str]) -> dict:
    rss = psutil.Process()
    before = rss.memory_info().rss
    start = time.perf_counter()
    results, errors = [], []
    with ThreadPoolExecutor(max_workers=sessions) as pool:
        futures = [pool.submit(session, url, backend, questions) for _ in range(sessions)]
        for f in as_completed(futures, timeout=DEADLINE):
            try:
                results.extend(f.result())
            except Exception as e:  # counted, then asserted to be none
                errors.append(repr(e))
    wall = time.perf_counter() - start
    latencies = sorted(t for t, _ in results)
    report = {"requests": len(results), "errors": errors, "wall_s": round(wall, 1),
              "throughput_rps": round(len(results) / wall, 2), "p50_s": round(statistics.median(latencies), 2),
              "p95_s": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
              "rss_growth_mb": round((rss.memory_info().rss - before) / 1e6)}
    print("load:", report)
    return report | {"answers": [a for _, a in results]}


def test_twenty_sessions_of_three_questions(built_store, embedder):
    fake = FakeBackend(delay=0.005)
    registry = Registry()
    registry.register(BackendSpec("fake", "streams", lambda s: fake, lambda s: Readiness(True, "ok")))
    settings = make_settings(built_store, llm={"backend": "fake"}, ui={"port": 0, "max_queue": 64})
    demo = launch(build_app(Retriever(settings, PaperStore(settings), embedder), settings, registry), settings,
                  block=False)
    try:
        report = run_load(demo.local_url, "fake", 20, QUESTIONS)
    finally:
        demo.close()
    assert report["errors"] == [] and report["requests"] == 60
    assert all(a and not a.startswith("⚠️ Something went wrong") for a in report["answers"])
    assert report["rss_growth_mb"] < 500


@pytest.mark.slow
def test_three_sessions_with_the_embedded_model(built_store, embedder):
    settings = make_settings(built_store, ui={"port": 0})
    demo = launch(build_app(Retriever(settings, PaperStore(settings), embedder), settings, default_registry()),
                  settings, block=False)
    try:
        report = run_load(demo.local_url, settings.llm.backend, 3, ["What does DePT decompose the soft prompt into?"])
    finally:
        demo.close()
    assert report["errors"] == [] and report["requests"] == 3
    assert all("[" in a or "do not contain" in a for a in report["answers"])
