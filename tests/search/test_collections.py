"""Named collections in one real Chroma store: what one holds the other never returns, each keeps its own
incremental state and BM25 index, they are listed and deleted, from Python and from the command line."""

from __future__ import annotations

import json

import pytest

from assistant.app import build
from assistant.cli.main import main
from assistant.config import ConfigError, Options, load_settings
from assistant.ingest.corpus import read_paths
from assistant.ingest.index import ingest
from assistant.llms.fake import FakeBackend
from assistant.search.collections import delete_collection
from assistant.search.keyword import index_dir
from assistant.search.store import PaperStore, StoreError, collection_name, list_collections
from tests.ingest.test_library import DATA, LETI
from tests.support import make_settings


@pytest.fixture(scope="module")
def two(tmp_path_factory, embedder, corpus_papers):
    """default: 40 corpus papers without LeTI; mine: the BibTeX sample (LeTI among them)."""
    store = tmp_path_factory.mktemp("two") / "index"
    settings = make_settings(store)
    ingest([p for p in corpus_papers if "LeTI" not in p.title][:40], settings, embedder, progress=False)
    ingest(read_paths([DATA / "library.bib"]).papers, settings, embedder, progress=False, collection="mine")
    return store


def test_each_collection_returns_only_its_own_papers(two, embedder):
    app = build(make_settings(two), backend=FakeBackend(), embedder=embedder)
    mine = [h.title for h in app.collections.retriever("mine").search("LeTI textual interactions", 3)]
    default = [h.title for h in app.retriever.search("LeTI textual interactions", 3)]
    assert mine[0] == LETI and LETI not in default
    answer = app.pipeline.ask("How does LeTI learn from textual interactions?",
                              options=app.pipeline.options(collection="mine"))
    assert answer.collection == "mine" and answer.sources[0].title == LETI and not answer.refused
    assert {s.title for s in app.pipeline.ask("How does LeTI learn?").sources}.isdisjoint({LETI})


def test_collections_keep_their_own_state_and_index(two, embedder):
    settings = make_settings(two)
    again = ingest(read_paths([DATA / "library.bib"]).papers, settings, embedder, progress=False, collection="mine")
    assert again.papers_new == 0 and again.papers_unchanged == 6  # incremental per collection
    default, mine = PaperStore(settings), PaperStore(settings, collection="mine")
    assert default.name == collection_name(settings) == f"papers-{default.name.split('-', 1)[1]}"  # as before
    assert mine.name != default.name and index_dir(mine) != index_dir(default)
    assert index_dir(mine).exists() and index_dir(default).exists()
    assert mine.paper_ids() == {p.paper_id for p in read_paths([DATA / "library.bib"]).papers}
    assert len(default.paper_ids()) == 40


def test_list_and_delete(tmp_path, embedder):
    settings = make_settings(tmp_path / "index")
    papers = read_paths([DATA / "library.ris"]).papers
    for name in ("alpha", "beta"):
        ingest(papers, settings, embedder, progress=False, collection=name)
    assert [(c.name, c.chunks > 0) for c in list_collections(settings)] == [("alpha", True), ("beta", True)]
    beta = PaperStore(settings, collection="beta")
    delete_collection(settings, "beta")
    assert [c.name for c in list_collections(settings)] == ["alpha"] and not index_dir(beta).exists()
    with pytest.raises(StoreError, match=r"no collection 'beta'.*alpha"):
        delete_collection(settings, "beta")
    with pytest.raises(StoreError, match=r"collection 'beta'.*collections: alpha.*--collection beta"):
        PaperStore(settings, collection="beta")


def test_bad_collection_names_are_refused_with_the_setting_named(tmp_path):
    with pytest.raises(StoreError, match="lowercase letters"):
        PaperStore(make_settings(tmp_path / "index"), create=True, collection="../etc")
    with pytest.raises(ConfigError, match=r"store\.collection: String should match pattern"):
        load_settings(None, {"store": {"collection": "Has Spaces"}})
    with pytest.raises(ConfigError, match="collection"):
        Options.for_request(make_settings(tmp_path / "index"), collection="x/y")


def test_the_command_line(tmp_path, capsys):
    store = str(tmp_path / "index")
    assert main(["ingest", "--store", store, "--collection", "zot", "--quiet", str(DATA / "library.bib")]) == 0
    assert "collection zot" in capsys.readouterr().out
    assert main(["collections", "--store", store, "--json"]) == 0
    assert [c["name"] for c in json.loads(capsys.readouterr().out)] == ["zot"]
    assert main(["search", "--store", store, "--collection", "zot", "--json", "textual interactions"]) == 0
    found = json.loads(capsys.readouterr().out)
    leti = next(r for r in found["results"] if r["title"] == LETI)
    assert found["collection"] == "zot" and leti["authors"][0] == "Xingyao Wang" and leti["year"] == 2023
    assert main(["search", "--store", store, "--json", "textual interactions"]) == 2  # no default collection
    assert "collections: zot" in capsys.readouterr().err
    assert main(["collections", "delete", "zot", "--store", store]) == 2  # needs --yes
    assert "--yes" in capsys.readouterr().err
    assert main(["collections", "delete", "zot", "--yes", "--store", store]) == 0
    capsys.readouterr()
    assert main(["collections", "--store", store]) == 0
    assert "No collections yet" in capsys.readouterr().out
