"""The one queue in front of the pipeline's generations: at most `concurrency` run at once, at most `max_waiting`
wait their turn, and any more are refused at once with `Busy` (the page, the HTTP API and MCP share one gate).

A slot is a `with gate.slot():` block; it is released however the block ends, so a failing request frees its
slot for the next one. Threads only: async callers wait in a worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Busy(RuntimeError):
    """Every slot is taken and the queue is full; the message says so to the user."""


class Gate:
    def __init__(self, concurrency: int, max_waiting: int) -> None:
        if concurrency < 1 or max_waiting < 0:
            raise ValueError("concurrency must be >= 1 and max_waiting >= 0")
        self.concurrency = concurrency
        self.max_waiting = max_waiting
        self._cond = threading.Condition()
        self.running = 0  # requests holding a slot
        self.waiting = 0  # requests queued for one

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._cond:
            if self.running >= self.concurrency:
                if self.waiting >= self.max_waiting:
                    raise Busy(f"the assistant is busy ({self.running} running, {self.waiting} waiting); "
                               "try again in a moment")
                self.waiting += 1
                try:
                    self._cond.wait_for(lambda: self.running < self.concurrency)
                finally:
                    self.waiting -= 1
            self.running += 1
        try:
            yield
        finally:
            with self._cond:
                self.running -= 1
                self._cond.notify()
