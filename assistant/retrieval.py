"""Finds the papers a query needs: llama-index retrieval over the Chroma store, grouped so a paper appears once.

Scores: llama-index reports exp(-distance) for Chroma; with cosine space that is converted back to cosine
similarity, which is what `retrieval.min_score` is compared with. Generation and prompting live elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.config import Settings
from assistant.store import PaperStore
from assistant.types import SearchHit

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.schema import NodeWithScore

MAX_CHUNKS_PER_PAPER = 2  # chunks of one paper merged into its hit


@dataclass(frozen=True)
class Retrieval:
    """What the pipeline gets for a question: its kind, the compared items/aspects, and the papers found."""

    kind: str  # factual | comparison | topic
    hits: list[SearchHit]
    items: list[str] = field(default_factory=list)  # compared items, for comparisons
    aspects: list[str] = field(default_factory=list)  # table rows, for comparisons


def cosine_from_llama_score(score: float | None) -> float:
    """llama-index gives exp(-d) for Chroma, d = 1 - cos in cosine space."""
    if score is None or score <= 0:
        return -1.0
    return 1.0 + math.log(score)


def group_by_paper(
    ranked: Sequence[tuple[NodeWithScore, float]], k: int, similarity: dict[str, float] | None = None
) -> list[SearchHit]:
    """Turn ranked chunks (node, score) into at most k papers, best first, each paper's best chunks merged."""
    order: list[str] = []  # paper ids in first-seen (best) order
    chunks: dict[str, list[tuple[NodeWithScore, float]]] = {}
    for node, score in ranked:
        pid = str(node.node.metadata["paper_id"])
        if pid not in chunks:
            order.append(pid)
            chunks[pid] = []
        chunks[pid].append((node, score))
    hits = []
    for pid in order[:k]:
        best = chunks[pid][:MAX_CHUNKS_PER_PAPER]
        meta = best[0][0].node.metadata
        parts = sorted(best, key=lambda ns: int(ns[0].node.metadata.get("position", 0)))
        text = " … ".join(ns[0].node.get_content() for ns in parts)
        sims = [similarity[ns[0].node.node_id] for ns in best if similarity and ns[0].node.node_id in similarity]
        hits.append(
            SearchHit(
                paper_id=pid,
                title=str(meta["title"]),
                url=str(meta["url"]),
                score=round(best[0][1], 4),
                text=text,
                similarity=round(max(sims), 4) if sims else None,
                published=str(meta["published"]) if meta.get("published") else None,
                author_count=int(meta["author_count"]) if meta.get("author_count") not in (None, "") else None,
            )
        )
    return hits


class Retriever:
    """Dense retrieval through llama-index's VectorStoreIndex over the store."""

    def __init__(self, settings: Settings, store: PaperStore, embedder: BaseEmbedding) -> None:
        from llama_index.core import VectorStoreIndex

        self.settings = settings
        self.store = store
        self.embedder = embedder
        # Explicit embed model: llama-index's global default would be OpenAI.
        self._index = VectorStoreIndex.from_vector_store(store.vector_store(), embed_model=embedder)

    def dense(self, query: str, top: int) -> list[tuple[NodeWithScore, float]]:
        nodes = self._index.as_retriever(similarity_top_k=top).retrieve(query)
        return [(n, cosine_from_llama_score(n.score)) for n in nodes]

    def search(self, query: str, k: int | None = None) -> list[SearchHit]:
        k = k or self.settings.retrieval.k
        ranked = self.dense(query, max(self.settings.retrieval.candidates, k * 3))
        sims = {n.node.node_id: s for n, s in ranked}
        return group_by_paper(ranked, k, sims)

    def find(self, question: str, k: int) -> Retrieval:
        return Retrieval(kind="factual", hits=self.search(question, k))
