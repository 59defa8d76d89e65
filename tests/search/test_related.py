"""Related papers from the stored vectors of the real corpus store: the same neighbours as a brute-force scan."""

from __future__ import annotations

import math

import pytest

from assistant.config import Options
from assistant.search.related import paper_vector, related
from assistant.search.retriever import Retriever
from assistant.search.store import PaperStore, StoreError
from tests.support import make_settings


@pytest.fixture(scope="module")
def retriever(built_store, embedder):
    settings = make_settings(built_store)
    return Retriever(settings, PaperStore(settings), embedder)


def _leti(retriever) -> str:
    return next(c.paper_id for c in retriever.store.iter_chunks() if c.title.startswith("LeTI:"))


def test_related_are_the_nearest_other_papers_by_brute_force(retriever):
    pid = _leti(retriever)
    vector = paper_vector(retriever, pid)
    assert math.isclose(sum(x * x for x in vector), 1.0, rel_tol=1e-6)
    hits = related(retriever, pid, Options.for_request(retriever.settings, k=5))
    assert len(hits) == 5 and pid not in {h.paper_id for h in hits}
    assert len({h.paper_id for h in hits}) == 5
    sims = [h.similarity for h in hits]
    assert sims == sorted(sims, reverse=True)
    # Every chunk of every paper, scored by hand: the five best other papers are the ones returned.
    best: dict[str, float] = {}
    for chunk in retriever.store.chunks_of(sorted(retriever.store.paper_ids())):
        score = sum(a * b for a, b in zip(vector, chunk.embedding or [], strict=True))
        best[chunk.paper_id] = max(best.get(chunk.paper_id, -1.0), score)
    best.pop(pid)
    expected = sorted(best, key=lambda p: -best[p])[:5]
    assert [h.paper_id for h in hits] == expected
    assert all(math.isclose(h.similarity, best[h.paper_id], abs_tol=1e-3) for h in hits)


def test_unknown_paper_is_an_error_naming_it(retriever):
    with pytest.raises(StoreError, match="'pnope': not in the store"):
        related(retriever, "pnope", Options.for_request(retriever.settings))
