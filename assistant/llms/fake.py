"""A deterministic test double that follows the real backend interface (like simonw/llm's MockModel).

Scripted replies go in with `enqueue`; every request is kept in `history`. With nothing queued it cites its
first source; given no sources it echoes `request.question`, else the last user message's last line.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Iterator

from assistant.llms.base import Backend, GenerationError, Request
from assistant.text import split_sentences


class FakeBackend(Backend):
    name = "fake"

    def __init__(self, delay: float = 0.0, first_delay: float = 0.0) -> None:
        self.delay = delay  # seconds between streamed words, to make load tests realistic
        self.first_delay = first_delay  # seconds before the first word (a model reading its prompt)
        self._queue: deque[str | Exception] = deque()  # scripted replies, oldest first
        self.history: list[Request] = []

    def enqueue(self, reply: str | Exception) -> None:
        """Queue the next reply; an exception is raised mid-stream as a GenerationError would be."""
        self._queue.append(reply)

    def default_reply(self, request: Request) -> str:
        if request.sources:
            first = split_sentences(request.sources[0].text) or [request.sources[0].title]
            return f"{first[0].rstrip('.')} [{request.sources[0].n}]."
        if request.question:  # a follow-up rewrite, or a raw prompt (the naive baseline): echo it
            return request.question
        last_user = next((m["content"] for m in reversed(request.messages) if m["role"] == "user"), "")
        lines = [ln.strip() for ln in last_user.splitlines() if ln.strip()]
        return lines[-1] if lines else ""

    def generate(self, request: Request) -> Iterator[str]:
        self.history.append(request)
        reply = self._queue.popleft() if self._queue else self.default_reply(request)
        if isinstance(reply, Exception):
            raise GenerationError(str(reply)) from reply
        if self.first_delay:
            (request.cancel or threading.Event()).wait(self.first_delay)
        for word in re.findall(r"\S+\s*", reply):
            if self.delay:
                (request.cancel or threading.Event()).wait(self.delay)  # a cancel cuts the wait short
            if request.cancelled:
                return
            yield word
