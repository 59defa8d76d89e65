"""Related papers ("More like this"): the papers whose stored chunks lie nearest a paper's own, with no model.

A paper is the mean of its stored chunk vectors (normalised); its neighbours are found by the retriever's dense
search over the same collection, the paper itself left out, one entry per paper. Nothing is embedded: a paper
the store does not hold is an error naming it.
"""

from __future__ import annotations

import math

from assistant.config import Options
from assistant.search.filters import chroma_where
from assistant.search.retriever import Retriever, group_by_paper
from assistant.search.store import StoreError
from assistant.types import SearchHit

CHUNKS_PER_RESULT = 4  # chunks fetched per paper asked for: a neighbour may fill several of the nearest


def paper_vector(retriever: Retriever, paper_id: str) -> list[float]:
    """The normalised mean of the paper's stored chunk vectors; StoreError when the store does not hold it."""
    vectors = [c.embedding for c in retriever.store.chunks_of([paper_id]) if c.embedding]
    if not vectors:
        raise StoreError(f"paper {paper_id!r}: not in the store {retriever.store.location}")
    mean = [sum(column) / len(vectors) for column in zip(*vectors, strict=True)]
    norm = math.sqrt(sum(x * x for x in mean)) or 1.0
    return [x / norm for x in mean]


def related(retriever: Retriever, paper_id: str, options: Options) -> list[SearchHit]:
    """The `options.k` papers nearest `paper_id`, nearest first, among those `options.filters` let through (the
    same filters as search, applied inside the dense search); each hit's similarity is its best chunk's cosine to
    the paper's mean vector."""
    vector = paper_vector(retriever, paper_id)
    allowed = retriever.allowed(options.filters)
    if allowed is not None and not allowed - {paper_id}:
        return []
    where = chroma_where(options.filters, allowed) if allowed is not None else None
    top = max(retriever.settings.retrieval.candidates, CHUNKS_PER_RESULT * (options.k + 1))
    ranked = [(node, sim) for node, sim in retriever.dense("", vector, top, where)
              if str(node.node.metadata["paper_id"]) != paper_id]
    return group_by_paper(ranked, options.k, {node.node.node_id: sim for node, sim in ranked})
