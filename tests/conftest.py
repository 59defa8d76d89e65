"""Shared fixtures: offline environment, settings in temp dirs, a session-wide store of the real corpus.

The real packaged embedding model and real Chroma stores are used throughout; the fake generative backend
is the registered `fake` backend, not a mock.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.offline import enforce_offline

enforce_offline()

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "data" / "corpus"


@pytest.fixture(scope="session")
def embedder():
    from assistant.config import EmbeddingSettings
    from assistant.embeddings import load_embedder

    return load_embedder(EmbeddingSettings())


def make_settings(store: Path, **groups):
    from assistant.config import Settings

    data = {"store": {"path": str(store)}, "llm": {"cache_dir": str(ROOT / "data" / "models")}}
    for key, value in groups.items():
        data.setdefault(key, {}).update(value) if isinstance(value, dict) else data.__setitem__(key, value)
    return Settings.model_validate(data)


@pytest.fixture
def settings(tmp_path: Path):
    return make_settings(tmp_path / "index")


@pytest.fixture(scope="session")
def corpus_papers():
    from assistant.corpus import read_paths

    return read_paths([CORPUS]).papers


@pytest.fixture(scope="session")
def built_store(tmp_path_factory: pytest.TempPathFactory, embedder, corpus_papers) -> Path:
    """The whole built-in corpus ingested once per test session (read-only for tests: copy it to modify)."""
    from assistant.index import ingest

    store = tmp_path_factory.mktemp("built") / "index"
    ingest(corpus_papers, make_settings(store), embedder, files=5, progress=False)
    return store


@pytest.fixture
def store_copy(built_store: Path, tmp_path: Path) -> Iterator[Path]:
    dest = tmp_path / "index"
    shutil.copytree(built_store, dest)
    yield dest
