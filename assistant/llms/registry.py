"""Backends registered by name: how to check one cheaply and how to build it from `LLMSettings`.

Registration is explicit (`default_registry()` lists the built-ins); choosing a name that is not
registered is an error naming `llm.backend`. There is no fallback from one backend to another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from assistant.config import LLMSettings
from assistant.llms.base import Backend, BackendError, Readiness


@dataclass(frozen=True)
class BackendSpec:
    name: str
    description: str
    build: Callable[[LLMSettings], Backend]
    check: Callable[[LLMSettings], Readiness]  # must not load a model; may open a connection


class Registry:
    def __init__(self) -> None:
        self._specs: dict[str, BackendSpec] = {}  # name -> spec

    def register(self, spec: BackendSpec) -> None:
        if spec.name in self._specs:
            raise ValueError(f"backend {spec.name!r} is already registered")
        self._specs[spec.name] = spec

    def names(self) -> list[str]:
        return list(self._specs)

    def spec(self, name: str) -> BackendSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise BackendError(
                f"llm.backend: unknown backend {name!r}; choose one of: {', '.join(self._specs)}"
            ) from None

    def build(self, settings: LLMSettings) -> Backend:
        return self.spec(settings.backend).build(settings)

    def check(self, settings: LLMSettings) -> Readiness:
        return self.spec(settings.backend).check(settings)


def default_registry() -> Registry:
    """The built-in backends. Imports are inside the backend modules' build functions, so this is cheap."""
    from assistant.llms import builtin

    registry = Registry()
    for spec in builtin.specs():
        registry.register(spec)
    return registry
