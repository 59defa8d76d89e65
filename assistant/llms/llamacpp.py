"""GGUF models through llama-cpp-python, with the GGUF's own chat template (`create_chat_completion`).

Loads lazily on the first request and keeps the model; one generation at a time per loaded model (a lock),
since llama.cpp contexts are not thread-safe. A cancelled request stops between tokens and, through llama.cpp's
abort callback, inside the prompt's evaluation too, so the lock is free again within a fraction of a second.
Finding and verifying the file is embedded.py's job.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from assistant.config import LLMSettings
from assistant.llms.base import Backend, BackendError, GenerationError, Request


class LlamaCppBackend(Backend):
    def __init__(self, name: str, locate: Callable[[], Path], settings: LLMSettings) -> None:
        self.name = name
        self._locate = locate  # returns a verified GGUF path (may join files the first time)
        self._settings = settings
        self._llm: Any = None
        self._lock = threading.RLock()  # re-entrant: generate() holds it and calls load()
        self._cancel: threading.Event | None = None  # the running request's, read by the abort callback
        self._abort: Any = None  # the ctypes callback, kept alive as long as the context

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    def load(self) -> Any:
        """The loaded model; the first call joins/verifies the file and loads it (once, even across threads)."""
        with self._lock:
            if self._llm is None:
                from llama_cpp import Llama

                path = self._locate()
                try:
                    self._llm = Llama(
                        model_path=str(path), n_ctx=self._settings.n_ctx,
                        n_threads=self._settings.n_threads or os.cpu_count() or 2, verbose=False,
                    )
                except (ValueError, RuntimeError) as e:
                    raise BackendError(f"llm: cannot load the GGUF model {path}: {e}") from e
                self._watch_cancel()
            return self._llm

    def _watch_cancel(self) -> None:
        """llama.cpp asks this callback between graph computations: a set cancel event aborts the decode."""
        import llama_cpp

        def abort(_data: Any) -> bool:
            cancel = self._cancel
            return cancel is not None and cancel.is_set()

        self._abort = llama_cpp.ggml_abort_callback(abort)
        llama_cpp.llama_set_abort_callback(self._llm._ctx.ctx, self._abort, None)

    def generate(self, request: Request) -> Iterator[str]:
        with self._lock:
            llm = self.load()
            if request.cancelled:
                return
            self._cancel = request.cancel
            stream = None
            try:
                stream = llm.create_chat_completion(
                    messages=list(request.messages), stream=True, temperature=request.temperature,
                    max_tokens=request.max_tokens, stop=request.stop or None,
                )
                for chunk in stream:
                    if request.cancelled:
                        return
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            except ValueError as e:  # e.g. the prompt exceeds n_ctx
                raise GenerationError(f"llm: generation failed ({e}); try fewer sources (retrieval.k)") from e
            except RuntimeError as e:  # "llama_decode returned 2": aborted by the callback
                if not request.cancelled:
                    raise GenerationError(f"llm: generation failed ({e})") from e
            finally:
                self._cancel = None
                if stream is not None:
                    stream.close()

    def close(self) -> None:
        with self._lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None


def gguf_path(settings: LLMSettings) -> Path:
    if settings.path is None:
        raise BackendError('llm.path: the gguf backend needs the path of a .gguf file (llm.path = "model.gguf")')
    path = settings.path.expanduser()
    if not path.is_file():
        raise BackendError(f"llm.path = {str(path)!r}: no such file")
    with path.open("rb") as fh:
        if fh.read(4) != b"GGUF":
            raise BackendError(f"llm.path = {str(path)!r}: not a GGUF file")
    return path
