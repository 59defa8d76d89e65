"""Load: concurrent chat sessions through gradio_client against the app on loopback, with the default queue settings.

20 sessions x 3 questions with a fake backend that streams with a per-word delay (a subclass registered in a test
registry; slow), a burst past a small queue (every extra request is told the app is busy), and a small run with the real
embedded model (slow). Every loop is bounded by count and by a deadline; figures are printed (run with -s).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field

import psutil
import pytest

from assistant.app import build
from assistant.llms.base import BackendSpec, Readiness
from assistant.llms.builtin import default_registry
from assistant.llms.fake import FakeBackend
from assistant.llms.registry import Registry
from assistant.ui.page import build_app
from assistant.ui.serve import launch
from tests.support import make_settings

QUESTIONS = ["What is DePT?", "and how does it save memory?", "Which papers study catastrophic forgetting?"]
DEADLINE = 240  # seconds for a whole run
BUSY = "Queue is full"  # what gradio_client raises (QueueError) when the queue is at ui.max_queue


class SlowFake(FakeBackend):
    """The fake backend streaming at about 50 words/s, like a small local model on a fast machine."""

    def __init__(self) -> None:
        super().__init__(delay=0.02)


def fake_registry() -> Registry:
    fake = SlowFake()
    registry = Registry()
    registry.register(BackendSpec("fake", "streams slowly", lambda s: fake, lambda s: Readiness(True, "ok")))
    return registry


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def session(url: str, backend: str, questions: list[str], out: Outcome) -> None:
    from gradio_client import Client

    client = Client(url, verbose=False, download_files=False)
    for q in questions:  # one chat session: the server keeps its history between the questions
        start = time.perf_counter()
        try:
            chat, _panel, _ = client.predict(q, [], backend, 5, True, False, api_name="/chat")
        except Exception as e:  # sorted below: busy is an accepted outcome, anything else fails the test
            with out.lock:
                (out.busy if BUSY in str(e) else out.errors).append(f"{type(e).__name__}: {e}")
            continue
        with out.lock:
            out.latencies.append(time.perf_counter() - start)
            out.answers.append(str(chat[-1]["content"]))


@contextmanager
def peak_rss() -> Iterator[dict[str, float]]:
    """Samples this process's RSS (the app runs in it) every 0.2 s; yields a dict filled with MB figures."""
    proc, stop, figures = psutil.Process(), threading.Event(), {"before_mb": 0.0, "peak_mb": 0.0}
    figures["before_mb"] = figures["peak_mb"] = proc.memory_info().rss / 1e6

    def sample() -> None:
        while not stop.wait(0.2):
            figures["peak_mb"] = max(figures["peak_mb"], proc.memory_info().rss / 1e6)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield figures
    finally:
        stop.set()
        thread.join(timeout=5)


def run_load(url: str, backend: str, sessions: int, questions: list[str]) -> tuple[dict, Outcome]:
    out = Outcome()
    with peak_rss() as rss:
        start = time.perf_counter()
        pool = ThreadPoolExecutor(max_workers=sessions)
        futures = [pool.submit(session, url, backend, questions, out) for _ in range(sessions)]
        _done, late = wait(futures, timeout=DEADLINE)
        pool.shutdown(wait=False, cancel_futures=True)
        wall = time.perf_counter() - start
    assert not late, f"{len(late)} sessions still running after {DEADLINE} s"
    lat = sorted(out.latencies)
    report = {
        "sessions": sessions, "questions_each": len(questions), "answered": len(lat), "busy": len(out.busy),
        "errors": len(out.errors), "wall_s": round(wall, 1), "throughput_per_s": round(len(lat) / wall, 2),
        "p50_s": round(statistics.median(lat), 2) if lat else None,
        "p95_s": round(lat[max(0, round(0.95 * len(lat)) - 1)], 2) if lat else None,
        "max_s": round(lat[-1], 2) if lat else None,
        "rss_before_mb": round(rss["before_mb"]), "rss_peak_growth_mb": round(rss["peak_mb"] - rss["before_mb"]),
    }
    print(f"\nload {backend}: {report}")
    return report, out


@contextmanager
def served(settings, registry: Registry, embedder) -> Iterator[str]:
    demo = launch(build_app(build(settings, registry=registry, embedder=embedder)), settings,
                  block=False)
    try:
        yield demo.local_url
    finally:
        demo.close()


def assert_answered(out: Outcome) -> None:
    assert out.errors == [], out.errors[:3]
    for a in out.answers:
        assert a and not a.startswith("⚠️"), a[:300]  # an answer (cited) or the refusal, never an error message


@pytest.mark.slow  # a long job: 60 streamed answers one at a time (ui.concurrency 1) take a minute at the least
def test_twenty_sessions_of_three_questions(built_store, embedder):
    settings = make_settings(built_store, llm={"backend": "fake"}, ui={"port": 0})  # default queue: 64, 1 at once
    with served(settings, fake_registry(), embedder) as url:
        report, out = run_load(url, "fake", 20, QUESTIONS)
    assert_answered(out)
    assert report["answered"] + report["busy"] == 60 and report["busy"] == 0  # 60 fit in the default queue
    assert sum("[1]" in a or "do not contain" in a for a in out.answers) == 60
    assert report["rss_peak_growth_mb"] < 500


def test_a_burst_past_the_queue_is_told_the_app_is_busy(built_store, embedder):
    settings = make_settings(built_store, llm={"backend": "fake"}, ui={"port": 0, "max_queue": 3})
    with served(settings, fake_registry(), embedder) as url:
        report, out = run_load(url, "fake", 12, QUESTIONS[:1])
        after, out_after = run_load(url, "fake", 1, QUESTIONS[:1])  # the burst is over: served again
    assert report["answered"] + report["busy"] == 12 and report["busy"] >= 1 and report["answered"] >= 1
    assert all("try again" in b for b in out.busy)
    assert after["answered"] == 1
    assert_answered(out)
    assert_answered(out_after)


@pytest.mark.slow
def test_three_sessions_with_the_embedded_model(built_store, embedder):
    settings = make_settings(built_store, ui={"port": 0})
    registry = default_registry()
    ready = registry.check(settings.llm)
    if not ready.ready:
        pytest.skip(f"the embedded model is not installed: {ready.detail}")
    with served(settings, registry, embedder) as url:
        report, out = run_load(url, settings.llm.backend, 3, ["What does DePT decompose the soft prompt into?"])
    assert_answered(out)
    assert report["answered"] == 3
    assert all("[" in a or "do not contain" in a for a in out.answers)
    assert report["rss_peak_growth_mb"] < 3000  # the model (about 1.1 GB) loads inside this process
