"""Ingest into a real Chroma store with the real packaged embedding model."""

from __future__ import annotations

import dataclasses

import pytest

from assistant.config import ConfigError
from assistant.ingest.index import chunk_paper, ingest, make_splitter
from assistant.search.store import PaperStore, StoreError
from tests.support import make_settings


def _chunk_ids(settings) -> list[str]:
    return sorted(c.chunk_id for c in PaperStore(settings).iter_chunks())


def test_built_store_holds_every_paper_once(built_store, corpus_papers):
    store = PaperStore(make_settings(built_store))
    metas = list(store.iter_chunks())
    assert len({m.paper_id for m in metas}) == len(corpus_papers) == 511
    # every chunk's paper is complete: n_chunks chunks, positions 0..n-1, one hash
    by_paper: dict[str, list] = {}
    for m in metas:
        by_paper.setdefault(m.paper_id, []).append(m)
    for ms in by_paper.values():
        assert sorted(m.position for m in ms) == list(range(ms[0].n_chunks))
        assert len({m.paper_hash for m in ms}) == 1


def test_chunks_carry_title_link_and_position(built_store):
    store = PaperStore(make_settings(built_store))
    chunk = next(iter(store.iter_chunks()))
    assert chunk.paper_id and chunk.title and chunk.n_chunks >= 1 and chunk.paper_hash
    assert chunk.url.startswith("https://arxiv.org/")
    assert chunk.text and chunk.title not in chunk.text  # the abstract piece; the title is embedded with it


def test_second_ingest_embeds_nothing(store_copy, corpus_papers, embedder):
    settings = make_settings(store_copy)
    before = _chunk_ids(settings)
    report = ingest(corpus_papers, settings, embedder, progress=False)
    assert report.chunks_embedded == 0
    assert report.papers_unchanged == 511 and report.papers_new == report.papers_updated == 0
    assert _chunk_ids(settings) == before


def test_changed_abstract_replaces_that_papers_chunks(store_copy, corpus_papers, embedder):
    settings = make_settings(store_copy)
    target = corpus_papers[3]
    changed = dataclasses.replace(target, abstract="A completely new abstract about graph colouring heuristics.")
    papers = [changed if p.paper_id == target.paper_id else p for p in corpus_papers]
    report = ingest(papers, settings, embedder, progress=False)
    assert (report.papers_updated, report.papers_new, report.chunks_embedded) == (1, 0, 1)
    docs = [c.text for c in PaperStore(settings).iter_chunks() if c.paper_id == target.paper_id]
    assert docs == [changed.abstract]


def test_prune_removes_papers_no_longer_given(store_copy, corpus_papers, embedder):
    settings = make_settings(store_copy)
    report = ingest(corpus_papers[:500], settings, embedder, progress=False, prune=True)
    assert report.papers_removed == 11
    assert len(PaperStore(settings).paper_ids()) == 500


def test_interrupted_ingest_resumes_without_duplicates(settings, corpus_papers, embedder):
    papers = corpus_papers[:300]

    class Stop(Exception):
        pass

    calls = {"n": 0}

    def interrupt():
        calls["n"] += 1
        if calls["n"] == 1:
            raise Stop

    with pytest.raises(Stop):
        ingest(papers, settings, embedder, progress=False, after_batch=interrupt)
    partial = _chunk_ids(settings)
    assert 0 < len(partial) < 330
    report = ingest(papers, settings, embedder, progress=False)
    ids = _chunk_ids(settings)
    assert len(ids) == len(set(ids))
    assert report.papers_unchanged > 0 and report.papers_new > 0
    assert len({i.split(":")[0] for i in ids}) == 300


def test_small_chunks_split_long_abstracts():
    from assistant.config import ChunkingSettings
    from assistant.types import Paper

    paper = Paper("p1", "T", " ".join(["This is a sentence about retrieval."] * 60), "u")
    chunks = chunk_paper(paper, make_splitter(ChunkingSettings(chunk_size=64, chunk_overlap=8)))
    assert len(chunks) > 3
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert all(c.chunk_id == f"p1:{c.position}" for c in chunks)


def test_overlap_not_below_chunk_size_is_a_clear_error():
    from assistant.config import ChunkingSettings

    with pytest.raises(ConfigError, match="chunk_overlap"):
        make_splitter(ChunkingSettings(chunk_size=64, chunk_overlap=64))


def test_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match=r"no index at .*paper-assistant ingest"):
        PaperStore(make_settings(tmp_path / "nowhere"))


def test_corrupted_store_is_a_clear_error(tmp_path):
    store = tmp_path / "index"
    store.mkdir()
    (store / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="corrupted"):
        PaperStore(make_settings(store))


def test_collection_name_follows_the_embedding_model(tmp_path):
    from assistant.search.store import collection_name

    model_dir = tmp_path / "My Model"
    model_dir.mkdir()
    a = collection_name(make_settings(tmp_path))
    b = collection_name(make_settings(tmp_path, embedding={"model": str(model_dir)}))
    assert a == "papers-all-minilm-l6-v2"
    assert b.startswith("papers-my-model-") and a != b


class _DeleteFails:
    """A Chroma client whose collection delete fails (as on a damaged store); everything else is the real one."""

    def __init__(self, client) -> None:
        self._client = client

    def delete_collection(self, name: str) -> None:
        raise RuntimeError("disk I/O error")

    def __getattr__(self, name: str):
        return getattr(self._client, name)


def test_rebuild_whose_delete_fails_stops_and_changes_nothing(store_copy):
    store = PaperStore(make_settings(store_copy), create=True)
    before = store.count_chunks()
    store.client = _DeleteFails(store.client)
    with pytest.raises(StoreError, match=r"cannot delete collection .* for --rebuild .*disk I/O error"):
        store.drop()
    assert PaperStore(make_settings(store_copy)).count_chunks() == before
