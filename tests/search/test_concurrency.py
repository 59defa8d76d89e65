"""Searches from several threads at once (as with ui.concurrency > 1) give what each gives alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from assistant.search.keyword import open_keyword_index
from assistant.search.retriever import Retriever
from assistant.search.store import PaperStore
from tests.support import make_settings

QUERIES = [("textual feedback from an interpreter", 3), ("mixture of experts for world knowledge", 11),
           ("soft prompt decomposition", 1), ("catastrophic forgetting", 25), ("speech recognition errors", 7),
           ("reinforcement learning for reasoning", 40)]


def test_bm25_searches_in_parallel_keep_their_own_top_k(built_store):
    keyword = open_keyword_index(PaperStore(make_settings(built_store)))
    alone = {q: [n.node.node_id for n in keyword.search(q, k)] for q, k in QUERIES}
    assert all(len(ids) == k for (_, k), ids in zip(QUERIES, alone.values(), strict=True))
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(lambda qk: (qk[0], [n.node.node_id for n in keyword.search(*qk)]), QUERIES * 8))
    assert all(ids == alone[q] for q, ids in together)


def test_hybrid_searches_in_parallel_match_sequential(built_store, embedder):
    settings = make_settings(built_store)
    retriever = Retriever(settings, PaperStore(settings), embedder)  # BM25 loads on first use, from any thread
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda qk: (qk[0], [h.paper_id for h in retriever.search(*qk)]), QUERIES * 3))
    alone = {q: [h.paper_id for h in retriever.search(q, k)] for q, k in QUERIES}
    assert all(ids == alone[q] for q, ids in together)
