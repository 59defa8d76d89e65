"""What several test modules share that is not a fixture: repository paths, settings in a temp store, and the
network guard's error. Fixtures live in conftest.py."""

from __future__ import annotations

import ipaddress
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "data" / "corpus"


class NetworkBlocked(RuntimeError):
    """A test tried to reach a non-loopback address."""


def is_local(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        if host in ("localhost", ""):
            return True
        try:
            return ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            return False
    return True  # AF_UNIX paths and the like


def make_settings(store: Path, **groups):
    from assistant.config import Settings

    # The joined model files are shared with the app (joining them again costs a minute); the timings the tests'
    # fake backends produce are kept beside the test's store, not in the user's llm.cache_dir.
    data = {"store": {"path": str(store)}, "llm": {"cache_dir": str(ROOT / "data" / "models"),
                                                   "timings_file": str(Path(store).parent / "timings.json")}}
    for key, value in groups.items():
        data.setdefault(key, {}).update(value) if isinstance(value, dict) else data.__setitem__(key, value)
    return Settings.model_validate(data)


def read_or_error(tmp: Path, name: str, data: bytes) -> list | None:
    """Write `data` as tmp/name and read it: the papers, or None when it is refused with a CorpusError, whose
    message must start with the file's path (property tests feed readers cut and corrupted files)."""
    from assistant.ingest.corpus import CorpusError, read_file

    path = tmp / name
    path.write_bytes(data)
    try:
        return read_file(path)
    except CorpusError as e:
        assert str(e).startswith(str(path)) and "\n" not in str(e), str(e)
        return None


def scripted_app(store: Path, embedder, fake):
    """The app over `store` with the built-in backends plus `fake` registered as "scripted", the default."""
    from assistant.app import build
    from assistant.llms.base import BackendSpec, Readiness
    from assistant.llms.builtin import default_registry

    registry = default_registry()
    registry.register(BackendSpec("scripted", "the tests' fake", lambda s: fake, lambda s: Readiness(True, "ok")))
    return build(make_settings(store, llm={"backend": "scripted"}), registry=registry, embedder=embedder)
