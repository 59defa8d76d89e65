"""How long this machine's models take: load time and prompt-reading speed, measured and kept in
`llm.timings_file` (default `timings.json` in `llm.cache_dir`), so that the page can say "about 12 s" before the
first token; and the warm-up that loads the configured model in the background when the page starts.

Measures only what real runs show (an estimate is None until a model has been timed here once); never guesses
from the model's size. Rates are seconds per prompt character (every backend sees characters; not every backend
exposes its tokenizer), smoothed over the last runs.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from assistant.llms.base import Backend, Request
from assistant.llms.registry import BackendPool

log = logging.getLogger(__name__)
SMOOTHING = 0.5  # weight of the newest measurement
MIN_PROMPT_CHARS = 200  # shorter prompts time the call's overhead, not the reading
# A prompt of realistic length for the warm-up to time the reading speed once, when nothing was measured yet.
CALIBRATION = " ".join(
    ["Abstract: we study how language models read retrieved passages before they answer, and measure "
     "accuracy, latency and cost on five benchmarks."] * 8
)


class ModelTimings:
    """Per backend name: `load_s` (seconds to load the model) and `prefill_s_per_char` (seconds from sending a
    prompt to the first token, per prompt character). Thread-safe; the file is replaced atomically."""

    def __init__(self, path: Path | None) -> None:
        self.path = path  # None: kept in memory only (tests, scripts)
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, float]] = self._read()

    def _read(self) -> dict[str, dict[str, float]]:
        if self.path is None or not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {str(k): {str(f): float(v) for f, v in d.items()} for k, d in data.items()}
        except (OSError, ValueError, AttributeError, TypeError) as e:
            log.warning("%s: unreadable timings (%s); estimates start again from the next answer", self.path, e)
            return {}

    def _write(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".timings.", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(self._data, out, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except OSError as e:  # a read-only cache dir costs only the estimate
            log.warning("%s: cannot save timings (%s)", self.path, e)

    def _update(self, model: str, key: str, value: float) -> None:
        with self._lock:
            entry = self._data.setdefault(model, {})
            old = entry.get(key)
            entry[key] = value if old is None else SMOOTHING * value + (1 - SMOOTHING) * old
            self._write()

    def record_prefill(self, model: str, prompt_chars: int, seconds: float) -> None:
        """A measured wait from sending `prompt_chars` characters to the first token (model already loaded)."""
        if prompt_chars >= MIN_PROMPT_CHARS and seconds > 0:
            self._update(model, "prefill_s_per_char", seconds / prompt_chars)

    def record_load(self, model: str, seconds: float) -> None:
        if seconds > 0:
            self._update(model, "load_s", seconds)

    def prefill_estimate(self, model: str, prompt_chars: int) -> float | None:
        rate = self._data.get(model, {}).get("prefill_s_per_char")
        return None if rate is None else rate * prompt_chars

    def load_estimate(self, model: str) -> float | None:
        return self._data.get(model, {}).get("load_s")


@dataclass(frozen=True)
class WarmState:
    phase: Literal["idle", "loading", "ready", "failed"]
    model: str
    elapsed: float = 0.0  # seconds since loading started (loading), or what loading took (ready)
    expected: float | None = None  # what loading took last time here
    detail: str = ""  # the error, when failed


class Warmup:
    """Builds the configured backend and loads its model in a background thread (`start`), timing the load and,
    once per machine, the reading speed; `state()` says where it is, for the page's model line."""

    def __init__(self, backends: BackendPool, timings: ModelTimings) -> None:
        self.backends = backends
        self.timings = timings
        self._state = WarmState("idle", backends.default)
        self._started: float | None = None
        self._lock = threading.Lock()

    def state(self) -> WarmState:
        with self._lock:
            s = self._state
            if s.phase == "loading" and self._started is not None:
                return WarmState("loading", s.model, time.monotonic() - self._started, s.expected)
            return s

    def start(self) -> threading.Thread:
        with self._lock:  # "loading" at once, so that a page opened a moment later says so
            self._started = time.monotonic()
            self._state = WarmState("loading", self.backends.default, 0.0,
                                    self.timings.load_estimate(self.backends.default))
        thread = threading.Thread(target=self.run, daemon=True, name="warm-up")
        thread.start()
        return thread

    def run(self) -> None:
        name = self.backends.default
        try:
            backend = self.backends.get()
            name = backend.name  # the key the pipeline times answers under ("gguf:model.gguf", not "gguf")
            load = getattr(backend, "load", None)
            if backend.loaded or not callable(load):
                with self._lock:
                    self._state = WarmState("ready", name)
                return  # servers and built-ins: nothing to load (or a question loaded it already)
            with self._lock:
                self._started = self._started or time.monotonic()
                self._state = WarmState("loading", name, 0.0, self.timings.load_estimate(name))
            start = time.perf_counter()
            load()  # takes the backend's own lock: a question asked meanwhile waits, and loads no second copy
            took = time.perf_counter() - start
            self.timings.record_load(name, took)
            with self._lock:
                self._state = WarmState("ready", name, took)
            if self.timings.prefill_estimate(name, 1) is None:
                self.calibrate(backend)
        except Exception as e:  # the first question reports it too, with the backend's own message
            log.warning("warming up %s failed", name, exc_info=True)
            with self._lock:
                self._state = WarmState("failed", name, detail=str(e))

    def calibrate(self, backend: Backend) -> None:
        """Time one prompt of realistic length (one token out), so the first question already gets an estimate."""
        messages = [{"role": "user", "content": CALIBRATION}]
        start = time.perf_counter()
        for _ in backend.generate(Request(messages=messages, max_tokens=1)):  # type: ignore[arg-type]
            break
        self.timings.record_prefill(backend.name, len(CALIBRATION), time.perf_counter() - start)
