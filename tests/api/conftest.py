"""A served app (page + API in one uvicorn server on a free loopback port) over the session's built store, with
backends that are real `Backend` subclasses registered by name: the scripted fake, one that dies mid-stream and
one that counts how many generations run at once, and one that takes its time to read the prompt."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from assistant.llms.base import Backend, BackendSpec, GenerationError, Readiness, Request
from assistant.llms.fake import FakeBackend
from assistant.llms.registry import Registry
from tests.support import make_settings


class DiesMidStream(Backend):
    name = "broken"

    def generate(self, request: Request) -> Iterator[str]:
        yield "DePT decomposes "
        raise GenerationError("llm.timeout: no token from http://127.0.0.1:9/v1 for 120 s")


class Counting(FakeBackend):
    """The fake, slowed down, recording the most generations that ever ran at the same time."""

    name = "counting"

    def __init__(self) -> None:
        super().__init__(delay=0.02)
        self._lock = threading.Lock()
        self.active = 0
        self.peak = 0

    def generate(self, request: Request) -> Iterator[str]:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            time.sleep(0.1)
            yield from super().generate(request)
        finally:
            with self._lock:
                self.active -= 1


class Hidden(FakeBackend):
    name = "hidden"


class Reading(FakeBackend):
    """The fake with a model's reading time before its first word (tests may lengthen `first_delay`)."""

    name = "slow"

    def __init__(self) -> None:
        super().__init__(delay=0.02, first_delay=0.3)


@dataclass
class Backends:
    fake: FakeBackend
    broken: DiesMidStream
    counting: Counting
    slow: Reading
    registry: Registry


def make_backends() -> Backends:
    b = Backends(FakeBackend(), DiesMidStream(), Counting(), Reading(), Registry())
    ok = lambda s: Readiness(True, "ok")  # noqa: E731
    b.registry.register(BackendSpec("fake", "scripted", lambda s: b.fake, ok))
    b.registry.register(BackendSpec("broken", "dies mid-stream", lambda s: b.broken, ok))
    b.registry.register(BackendSpec("counting", "slow fake", lambda s: b.counting, ok))
    b.registry.register(BackendSpec("slow", "fake with a reading time", lambda s: b.slow, ok, hidden=True))
    b.registry.register(BackendSpec("hidden", "not offered", lambda s: Hidden(), ok, hidden=True))
    return b


@dataclass
class Running:
    url: str
    app: object
    backends: Backends


def start(store, embedder, **ui) -> tuple[Running, object]:
    from assistant.app import build
    from assistant.ui.page import build_app
    from assistant.ui.serve import serve

    settings = make_settings(store, llm={"backend": "fake"}, ui={"port": 0, **ui})
    backends = make_backends()
    app = build(settings, registry=backends.registry, embedder=embedder)
    served = serve(app, build_app(app), settings)
    return Running(served.url, app, backends), served


@pytest.fixture(scope="module")
def running(built_store, embedder) -> Iterator[Running]:
    run, served = start(built_store, embedder)
    try:
        yield run
    finally:
        served.close()
