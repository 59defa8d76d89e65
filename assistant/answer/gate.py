"""The one queue in front of the pipeline's generations: at most `concurrency` run at once, at most `max_waiting`
wait their turn (first come, first served), and any more are refused at once with `Busy` (the page, the HTTP API
and MCP share one gate).

`join()` gives a `Ticket`: it holds a slot at once when one is free, else waits in line; `ticket.ahead()` says how
many requests are before it, `ticket.wait(timeout)` waits for its slot and `ticket.release()` gives the slot (or the
place in line) back, however the request ended. `with gate.slot():` is join, wait and release in one block.
Threads only: async callers wait in a worker thread.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class Busy(RuntimeError):
    """Every slot is taken and the queue is full; the message says so to the user."""


class Ticket:
    """One request's place: in line until the gate gives it a slot (`holding`), then until `release`."""

    def __init__(self, gate: Gate) -> None:
        self._gate = gate
        self.holding = False
        self.released = False

    def ahead(self) -> int:
        """Requests served before this one: those running and those earlier in line (0 once it holds a slot)."""
        return self._gate._ahead(self)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to `timeout` seconds (None: as long as it takes) for a slot; True once this ticket holds one."""
        return self._gate._wait(self, timeout)

    def release(self) -> None:
        self._gate._release(self)

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class Gate:
    def __init__(self, concurrency: int, max_waiting: int) -> None:
        if concurrency < 1 or max_waiting < 0:
            raise ValueError("concurrency must be >= 1 and max_waiting >= 0")
        self.concurrency = concurrency
        self.max_waiting = max_waiting
        self._cond = threading.Condition()
        self._line: deque[Ticket] = deque()  # waiting tickets, oldest first
        self.running = 0  # tickets holding a slot

    @property
    def waiting(self) -> int:
        return len(self._line)

    def join(self) -> Ticket:
        """A ticket in line (holding a slot at once when one is free); raises Busy when the line is full."""
        ticket = Ticket(self)
        with self._cond:
            if self.running >= self.concurrency and len(self._line) >= self.max_waiting:
                raise Busy(f"the assistant is busy ({self.running} running, {len(self._line)} waiting); "
                           "try again in a moment")
            self._line.append(ticket)
            self._promote()
        return ticket

    @contextmanager
    def slot(self) -> Iterator[None]:
        ticket = self.join()
        try:
            ticket.wait()
            yield
        finally:
            ticket.release()

    def _promote(self) -> None:
        while self._line and self.running < self.concurrency:
            ticket = self._line.popleft()
            ticket.holding = True
            self.running += 1
        self._cond.notify_all()

    def _ahead(self, ticket: Ticket) -> int:
        with self._cond:
            if ticket.holding or ticket.released:
                return 0
            return self.running + self._line.index(ticket)

    def _wait(self, ticket: Ticket, timeout: float | None) -> bool:
        with self._cond:
            if ticket.released:
                raise RuntimeError("this ticket was released")
            return self._cond.wait_for(lambda: ticket.holding, timeout)

    def _release(self, ticket: Ticket) -> None:
        with self._cond:
            if ticket.released:
                return
            ticket.released = True
            if ticket.holding:
                ticket.holding = False
                self.running -= 1
            else:
                self._line.remove(ticket)
            self._promote()
