"""Shared fixtures: offline environment, settings in temp dirs, a session-wide store of the real corpus.

The real packaged embedding model and real Chroma stores are used throughout; the fake generative backend
is the registered `fake` backend, not a mock.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.offline import enforce_offline
from tests.support import CORPUS, NetworkBlocked, is_local, make_settings, remember_passages

enforce_offline()

@pytest.fixture(autouse=True, scope="session")
def _no_outside_network() -> Iterator[None]:
    """Tests never touch the network: a connection to anything but loopback fails loudly."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def connect(self: socket.socket, address: object) -> None:
        if not is_local(address):
            raise NetworkBlocked(f"test tried to connect to {address!r}")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        if not is_local(address):
            raise NetworkBlocked(f"test tried to connect to {address!r}")
        return real_connect_ex(self, address)

    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex  # type: ignore[method-assign]
    yield
    socket.socket.connect, socket.socket.connect_ex = real_connect, real_connect_ex  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def embedder():
    """The real packaged embedding model, loaded once. Passage vectors are remembered by text (`remember_passages`):
    the many stores built from corpus papers embed each distinct chunk once per session, not once per store."""
    from assistant.config import EmbeddingSettings
    from assistant.search.embeddings import load_embedder

    return remember_passages(load_embedder(EmbeddingSettings()))


@pytest.fixture
def settings(tmp_path: Path):
    return make_settings(tmp_path / "index")


@pytest.fixture(scope="session")
def corpus_papers():
    from assistant.ingest.corpus import read_paths

    return read_paths([CORPUS]).papers


@pytest.fixture(scope="session")
def built_store(tmp_path_factory: pytest.TempPathFactory, embedder, corpus_papers) -> Path:
    """The whole built-in corpus ingested once per test session (read-only for tests: copy it to modify)."""
    from assistant.ingest.index import ingest

    store = tmp_path_factory.mktemp("built") / "index"
    ingest(corpus_papers, make_settings(store), embedder, files=5, progress=False)
    return store


@pytest.fixture
def store_copy(built_store: Path, tmp_path: Path) -> Iterator[Path]:
    dest = tmp_path / "index"
    shutil.copytree(built_store, dest)
    yield dest
