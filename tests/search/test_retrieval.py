"""Retrieval over the real built-in corpus with the real embedding model."""

from __future__ import annotations

import pytest

from assistant.search.retriever import Retriever
from assistant.search.store import PaperStore
from tests.support import make_settings


@pytest.fixture(scope="module")
def retriever(built_store, embedder):
    settings = make_settings(built_store)
    return Retriever(settings, PaperStore(settings), embedder)


def test_paraphrased_query_finds_leti_first(retriever):
    hits = retriever.search("learning from error messages and stack traces of generated code", 5)
    assert hits[0].title == "LeTI: Learning to Generate from Textual Interactions"


def test_a_paper_fills_one_slot_only(retriever):
    hits = retriever.search("parameter-efficient fine-tuning with low-rank adapters", 10)
    ids = [h.paper_id for h in hits]
    assert len(ids) == len(set(ids)) == 10
    assert hits == sorted(hits, key=lambda h: -h.score)


def test_scores_are_cosine_similarities(retriever):
    hits = retriever.search("LeTI: Learning to Generate from Textual Interactions", 3)
    assert 0.6 < hits[0].similarity <= 1.0001
