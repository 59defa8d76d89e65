"""The sample library exports ingested into real Chroma stores with the real packaged embedding model: the new
metadata on every chunk (scalar in Chroma, typed when read back), an older chunk format rewritten rather than
misread, and a failed ingest that leaves the store as it was."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from assistant.cli.main import main
from assistant.ingest.corpus import read_paths
from assistant.ingest.index import ingest
from assistant.search.store import CHUNK_FORMAT, PaperStore
from tests.ingest.test_library import BAD, DATA, LETI, SAMPLES
from tests.support import make_settings

FILES = [DATA / name for name in sorted(SAMPLES)]


@pytest.fixture(scope="module")
def library_store(tmp_path_factory, embedder) -> Path:
    """All five sample formats in one store (14 papers after dedupe); read-only for tests."""
    store = tmp_path_factory.mktemp("library") / "index"
    result = read_paths(FILES)
    report = ingest(result.papers, make_settings(store), embedder, files=len(result.files), progress=False)
    assert (report.papers_new, report.papers_seen) == (14, 14)
    return store


@pytest.mark.parametrize(("name", "counts"), SAMPLES.items())
def test_each_format_ingests_into_a_real_store(tmp_path, embedder, name, counts):
    settings = make_settings(tmp_path / "index")
    papers = read_paths([DATA / name]).papers
    report = ingest(papers, settings, embedder, files=1, progress=False)
    assert report.papers_new == counts[0] and report.chunks_embedded >= counts[0]
    stored = {c.paper_id: c for c in PaperStore(settings).iter_chunks() if c.position == 0}
    assert {p.paper_id for p in papers} == set(stored)
    for p in papers:
        c = stored[p.paper_id]
        assert (c.title, c.url, c.authors, c.year, c.venue, c.doi, c.arxiv_id, c.keywords, c.published) == (
            p.title, p.url, p.author_names, p.year, p.venue, p.doi, p.arxiv_id, p.keywords, p.published)


def test_chunk_metadata_is_scalar_and_reads_back_typed(library_store):
    store = PaperStore(make_settings(library_store))
    got = store.collection.get(include=["metadatas"])
    for meta in got["metadatas"]:
        assert all(isinstance(v, str | int | float | bool) for v in meta.values())
        assert meta["format"] == CHUNK_FORMAT
        if "year" in meta:
            assert isinstance(meta["year"], int)
    leti = next(c for c in store.iter_chunks() if c.title == LETI and c.position == 0)
    assert leti.authors == ("Xingyao Wang", "Hao Peng", "Reyhaneh Jabbarvand", "Heng Ji")
    assert (leti.year, leti.doi, leti.arxiv_id, leti.published) == (2023, "10.48550/arXiv.2305.10314",
                                                                     "2305.10314v2", "2023-05-17")
    assert leti.keywords[:2] == ("cs.CL", "cs.AI") and leti.url == "https://doi.org/10.48550/arXiv.2305.10314"
    raw = store.collection.get(ids=[leti.chunk_id], include=["metadatas"])["metadatas"][0]
    assert raw["authors"] == "Xingyao Wang; Hao Peng; Reyhaneh Jabbarvand; Heng Ji"
    assert raw["authors_lc"] == "xingyao wang; hao peng; reyhaneh jabbarvand; heng ji"
    # Filterable as stored: an exact year, a DOI.
    assert {m["title"] for m in store.collection.get(where={"year": {"$gte": 2024}})["metadatas"]} == {
        "GlórIA -- A Generative and Open Large Language Model for Portuguese",
        "Segment Any Text: A Universal Approach for Robust, Efficient and Adaptable Sentence Segmentation",
        "Model Editing with Canonical Examples"}
    assert len({m["paper_id"] for m in store.collection.get(
        where={"doi": "10.1016/j.patter.2023.100729"})["metadatas"]}) == 1


def test_a_store_of_the_older_chunk_format_is_read_as_such_and_rewritten(tmp_path, library_store, embedder):
    import shutil

    shutil.copytree(library_store, tmp_path / "index")
    settings = make_settings(tmp_path / "index")
    store = PaperStore(settings)
    got = store.collection.get(include=["metadatas"])
    old = []
    for meta in got["metadatas"]:  # as format 1 wrote them: authors joined by ", ", none of the new keys
        gone = ("format", "year", "venue", "doi", "arxiv_id", "keywords", "keywords_lc", "authors_lc")
        meta = {k: (None if k in gone else v) for k, v in meta.items()}  # None: update() deletes the key
        if "authors" in meta:
            meta["authors"] = meta["authors"].replace("; ", ", ")
        old.append(meta | {"paper_hash": "written-by-format-1"})
    store.collection.update(ids=got["ids"], metadatas=old)
    assert not any("format" in m for m in store.collection.get(include=["metadatas"])["metadatas"])
    leti = next(c for c in PaperStore(settings).iter_chunks() if c.title == LETI)
    assert leti.authors == ("Xingyao Wang", "Hao Peng", "Reyhaneh Jabbarvand", "Heng Ji") and leti.doi is None
    report = ingest(read_paths(FILES).papers, settings, embedder, progress=False)
    assert report.papers_updated == 14 and report.papers_unchanged == 0
    assert {c.doi for c in PaperStore(settings).iter_chunks() if c.title == LETI} == {"10.48550/arXiv.2305.10314"}


def _snapshot(store: Path) -> dict[str, str]:
    return {p.relative_to(store).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(store.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("bad", sorted(p.name for p in BAD.iterdir()))
def test_a_failed_ingest_leaves_the_store_as_it_was(tmp_path, library_store, capsys, bad):
    """Every file is read before the store is opened: one malformed file among good ones changes nothing."""
    import shutil

    store = tmp_path / "index"
    shutil.copytree(library_store, store)
    before = _snapshot(store)
    code = main(["ingest", str(DATA / "library.ris"), str(BAD / bad), str(DATA / "library.bib"),
                 "--store", str(store), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"error: {BAD / bad}") and len(err.strip().splitlines()) == 1
    assert _snapshot(store) == before


def test_ingest_verbose_names_the_skipped_entries(tmp_path, capsys):
    store = tmp_path / "index"
    assert main(["ingest", *map(str, FILES), "--store", str(store), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "25 entries, 14 unique papers; skipped 5 entries without an abstract (--verbose lists them)." in out
    assert main(["ingest", *map(str, FILES), "--store", str(store), "--quiet", "--verbose", "--json"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert data["papers_unchanged"] == 14 and data["entries_skipped"] == 5
    assert [s["title"] for s in data["skipped"]][:1] == ["Speech and language processing: an introduction to "
                                                         "natural language processing, computational linguistics, "
                                                         "and speech recognition"]
    assert data["skipped"][0]["where"] == f"{DATA / 'library.bib'}:83"
