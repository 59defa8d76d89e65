"""Backends registered by name, and the pool of backends built from them for one process.

`Registry` maps names to `BackendSpec`s (the built-ins are listed in `builtin.default_registry`); choosing a name
that is not registered is an error naming `llm.backend`. `BackendPool` builds a backend the first time a request
names it and keeps it. There is no fallback from one backend to another.
"""

from __future__ import annotations

import threading

from assistant.config import LLMSettings
from assistant.llms.base import Backend, BackendError, BackendSpec, Readiness


class Registry:
    def __init__(self) -> None:
        self._specs: dict[str, BackendSpec] = {}  # name -> spec

    def register(self, spec: BackendSpec) -> None:
        if spec.name in self._specs:
            raise ValueError(f"backend {spec.name!r} is already registered")
        self._specs[spec.name] = spec

    def names(self, *, include_hidden: bool = True) -> list[str]:
        return [n for n, s in self._specs.items() if include_hidden or not s.hidden]

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


class BackendPool:
    """The backends of one process by registry name, built on first use from `llm` (with the name swapped in)
    and kept; thread-safe. `default` is the configured backend's name."""

    def __init__(self, registry: Registry, llm: LLMSettings, built: dict[str, Backend] | None = None) -> None:
        self.registry = registry
        self.llm = llm
        self.default = llm.backend
        self._built: dict[str, Backend] = dict(built or {})  # name -> backend
        self._lock = threading.Lock()

    @classmethod
    def of(cls, backend: Backend, registry: Registry | None = None) -> BackendPool:
        """A pool whose default is an already built backend (tests, scripts): `backend.name` is its key."""
        return cls(registry or Registry(), LLMSettings(backend=backend.name), {backend.name: backend})

    def settings_for(self, name: str) -> LLMSettings:
        return LLMSettings.model_validate({**self.llm.model_dump(), "backend": name})

    def names(self) -> list[str]:
        """Every backend a request may name: the registered ones, then any built outside the registry."""
        return list(dict.fromkeys([*self.registry.names(), *self._built]))

    def built(self, name: str) -> bool:
        return name in self._built

    def readiness(self, name: str) -> Readiness:
        if name in self._built:
            return Readiness(True, "loaded")
        try:
            return self.registry.check(self.settings_for(name))
        except BackendError as e:
            return Readiness(False, str(e))

    def get(self, name: str | None = None) -> Backend:
        """The backend called `name` (default: the configured one); raises BackendError when it cannot be built."""
        name = name or self.default
        with self._lock:
            if name not in self._built:
                self._built[name] = self.registry.build(self.settings_for(name))
            return self._built[name]

    def close(self) -> None:
        with self._lock:
            for backend in self._built.values():
                backend.close()
