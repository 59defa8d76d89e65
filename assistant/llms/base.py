"""The one interface every generative backend implements, and the errors backends raise.

A backend turns a `Request` (chat messages plus the structured sources and question) into a stream of
text pieces. It does no retrieval, prompting or citation work; the pipeline owns those.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypedDict

from assistant.types import Source

if TYPE_CHECKING:
    from assistant.config import LLMSettings


class Message(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Request:
    messages: list[Message]
    question: str = ""  # the standalone question (extractive backends read this, not the prompt)
    sources: list[Source] = field(default_factory=list)
    max_tokens: int = 320
    temperature: float = 0.0
    stop: list[str] = field(default_factory=list)
    # Set by the caller to stop this generation: every backend checks it between pieces (llama.cpp also while it
    # reads the prompt) and then ends its stream early, without an error.
    cancel: threading.Event | None = field(default=None, compare=False)

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()


class BackendError(RuntimeError):
    """A backend is misconfigured, missing, unverifiable or unreachable. The message names the setting."""


class GenerationError(RuntimeError):
    """Generation started but failed (server died mid-stream, timeout)."""


@dataclass(frozen=True)
class Readiness:
    ready: bool
    detail: str  # e.g. "verified /path/model.gguf" or "llm.base_url http://...: connection refused"


class Backend(ABC):
    """Implement `generate`; set `name` to a human-readable model name shown in answers."""

    name: str = "backend"
    generative: bool = True  # False for backends that only extract (they cannot rewrite follow-up questions)

    @abstractmethod
    def generate(self, request: Request) -> Iterator[str]:
        """Yield the answer text in pieces as it is produced; stop early, quietly, once `request.cancelled`.
        Raise GenerationError on failure."""

    @property
    def loaded(self) -> bool:
        """False while a local model still has to be loaded by the next request (servers are always "loaded")."""
        return True

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release resources (model memory, HTTP sessions)."""


@dataclass(frozen=True)
class BackendSpec:
    """How to check a backend cheaply and how to build it; registered under `name`."""

    name: str
    description: str
    build: Callable[[LLMSettings], Backend]
    check: Callable[[LLMSettings], Readiness]  # must not load a model; may open a connection
    hidden: bool = False  # not offered in the UI's backend list unless it is the configured one (test doubles)
