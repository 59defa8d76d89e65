"""What several test modules share that is not a fixture: repository paths, settings in a temp store, and the
network guard's error. Fixtures live in conftest.py."""

from __future__ import annotations

import ipaddress
import threading
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


def remember_passages(embedder):
    """`embedder` with its passage (document) vectors remembered by text: `get_text_embedding_batch` runs the real
    model once on the texts it has not seen and returns the remembered vector for the others. A text's vector
    does not depend on the other texts of its batch (beyond float rounding, about 1e-7), so stores built in one
    session from the same papers get the vectors they would have got anyway. Query embeddings are never
    remembered: every search embeds its query."""
    real = embedder.get_text_embedding_batch
    seen: dict[str, list[float]] = {}
    lock = threading.Lock()

    def get_text_embedding_batch(texts: list[str], show_progress: bool = False, **kwargs) -> list[list[float]]:
        with lock:
            new = list(dict.fromkeys(t for t in texts if t not in seen))
        if new:
            vectors = real(new, show_progress=show_progress, **kwargs)
            with lock:
                seen.update(zip(new, vectors, strict=True))
        with lock:
            return [list(seen[t]) for t in texts]

    object.__setattr__(embedder, "get_text_embedding_batch", get_text_embedding_batch)
    return embedder
