"""Filters inside real search: a store of real corpus papers, each given a (seeded) year, author list and venue,
so that a filter must change what dense and BM25 search return, before ranking."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from assistant.config import Filters
from assistant.ingest.index import ingest
from assistant.search.filters import FilterIndex, chroma_where, contains_words
from assistant.search.retriever import Retriever
from assistant.search.store import PaperStore
from tests.support import make_settings

SURNAMES = ["Okafor", "Lindqvist", "Tanaka", "Moreau", "Castillo", "Novak"]
VENUES = ["ACL", "NAACL", "NeurIPS", "ICLR", "EMNLP"]
N_PAPERS = 150


@pytest.fixture(scope="module")
def facts_store(tmp_path_factory, embedder, corpus_papers):
    """150 real papers with seeded years 2019-2024, two authors each and a venue; returns (store, papers)."""
    rng = random.Random(13)
    papers = []
    for p in rng.sample(list(corpus_papers), N_PAPERS):
        authors = (f"{rng.choice(['Ada', 'Bo', 'Chen'])} {rng.choice(SURNAMES)}", f"Lee {rng.choice(SURNAMES)}")
        papers.append(replace(p, year=rng.randint(2019, 2024), author_names=authors, venue=rng.choice(VENUES)))
    store = tmp_path_factory.mktemp("facts") / "index"
    ingest(papers, make_settings(store), embedder, files=1, progress=False)
    return store, {p.paper_id: p for p in papers}


@pytest.fixture(scope="module")
def retriever(facts_store, embedder):
    settings = make_settings(facts_store[0])
    return Retriever(settings, PaperStore(settings), embedder)


def ranked(retriever, query, filters=None, *, k=8, hybrid=True):
    return [h.paper_id for h in retriever.search(query, k, hybrid=hybrid, filters=filters)]


def test_words_match_whole_words_only():
    assert contains_words("annual meeting of the acl 2023", "ACL")
    assert not contains_words("naacl 2022", "ACL")
    assert contains_words("ada okafor", "Okafor") and not contains_words("ada okaforth", "Okafor")


@pytest.mark.parametrize("hybrid", [True, False])
def test_a_year_filter_changes_what_is_retrieved_and_every_hit_passes(retriever, facts_store, hybrid):
    _, papers = facts_store
    rng = random.Random(7)
    for paper in rng.sample(list(papers.values()), 6):
        query = paper.title
        plain = ranked(retriever, query, hybrid=hybrid)
        assert paper.paper_id in plain  # its own title finds it
        other = 2019 if paper.year != 2019 else 2024
        filters = Filters(year_from=other, year_to=other)
        got = ranked(retriever, query, filters, hybrid=hybrid)
        assert paper.paper_id not in got
        assert got and all(papers[pid].year == other for pid in got)


def test_filters_apply_before_ranking_so_k_allowed_papers_still_come_back(retriever, facts_store):
    """A post-filter of the top candidates would return fewer than k for a rare filter; a pre-filter returns k."""
    _, papers = facts_store
    rare = Filters(year_from=2019, year_to=2019, venue="ICLR")
    allowed = {pid for pid, p in papers.items() if p.year == 2019 and p.venue == "ICLR"}
    assert 3 <= len(allowed) < N_PAPERS / 10
    for hybrid in (True, False):
        got = ranked(retriever, "large language models", rare, k=3, hybrid=hybrid)
        assert len(got) == 3 and set(got) <= allowed


def test_author_and_venue_filters_match_names_not_substrings(retriever, facts_store):
    _, papers = facts_store
    got = ranked(retriever, "language models", Filters(venue="ACL"), k=10)
    assert got and all(papers[pid].venue == "ACL" for pid in got)  # never NAACL
    got = ranked(retriever, "language models", Filters(author="Tanaka"), k=10)
    assert got and all(any(a.endswith("Tanaka") for a in papers[pid].author_names) for pid in got)


def test_a_filter_nothing_passes_returns_no_hits(retriever):
    assert ranked(retriever, "language models", Filters(year_from=2030)) == []
    assert ranked(retriever, "language models", Filters(author="Nobody-Such")) == []


def test_filter_index_knows_the_collection_names(retriever):
    index: FilterIndex = retriever.filter_index
    assert index.is_author("Lindqvist") and index.is_author("lee lindqvist")
    assert not index.is_author("Google")
    assert index.is_venue("NeurIPS") and not index.is_venue("LoRA")


def test_the_chroma_where_uses_native_year_comparisons():
    where = chroma_where(Filters(year_from=2021, year_to=2023), frozenset({"a"}))
    assert where == {"$and": [{"year": {"$gte": 2021}}, {"year": {"$lte": 2023}}]}
    assert chroma_where(Filters(author="X"), frozenset({"b", "a"})) == {"paper_id": {"$in": ["a", "b"]}}
    assert chroma_where(Filters(), frozenset()) is None


def test_filters_validate_and_label():
    assert Filters(year_from=2024).label() == "2024–"
    assert Filters(year_from=2021, year_to=2023, author="Smith").label() == "2021–2023, author Smith"
    assert Filters(year_from=2023, year_to=2023).label() == "2023"
    with pytest.raises(ValueError, match="after"):
        Filters(year_from=2024, year_to=2020)
    assert Filters(year_from=2020).merged(Filters(year_from=2010, author="A")) == Filters(year_from=2020, author="A")


def test_related_papers_take_the_same_filters(retriever, facts_store):
    from assistant.config import Options
    from assistant.search.related import related

    _, papers = facts_store
    paper = next(iter(papers.values()))
    plain = related(retriever, paper.paper_id, Options.for_request(retriever.settings, k=8))
    year = 2019 if paper.year != 2019 else 2020
    options = Options.for_request(retriever.settings, k=8, filters=Filters(year_from=year, year_to=year))
    got = related(retriever, paper.paper_id, options)
    assert got and all(papers[h.paper_id].year == year for h in got) and paper.paper_id not in {h.paper_id for h in got}
    assert {h.paper_id for h in got} != {h.paper_id for h in plain}
