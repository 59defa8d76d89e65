"""Hybrid search for one query: dense search (llama-index over Chroma) fused with BM25 and method-name matches,
grouped so that a paper appears once, optionally reranked.

`SearchHit.similarity` is always the dense cosine similarity of the paper's best chunk (the refusal threshold
uses it), even for papers only BM25 found. What to search for a question (sub-queries for compared papers, wider
nets for topics) is decided above, in `answer.plan`; prompting and generation live elsewhere.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from assistant.config import Filters, Settings
from assistant.search.store import PaperStore
from assistant.types import SearchHit

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.schema import NodeWithScore

    from assistant.search.filters import FilterIndex
    from assistant.search.keyword import KeywordIndex

MAX_CHUNKS_PER_PAPER = 2  # chunks of one paper merged into its hit
RRF_K = 60  # reciprocal-rank fusion constant (Cormack et al.)
NAME_BOOST = 1.0  # a paper whose method name the query names outranks any fused score (max 2/61)


def cosine_from_llama_score(score: float | None) -> float:
    """llama-index gives exp(-d) for Chroma, d = 1 - cos in cosine space."""
    if score is None or score <= 0:
        return -1.0
    return 1.0 + math.log(score)


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return float(sum(x * y for x, y in zip(a, b, strict=True)))


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
        if all(n.node.node_id != node.node.node_id for n, _ in chunks[pid]):
            chunks[pid].append((node, score))
    hits = []
    for pid in order[:k]:
        best = chunks[pid][:MAX_CHUNKS_PER_PAPER]
        meta = best[0][0].node.metadata
        parts = sorted(best, key=lambda ns: int(ns[0].node.metadata.get("position", 0)))
        text = " … ".join(_plain_text(ns[0]) for ns in parts)
        sims = [similarity[n.node.node_id] for n, _ in chunks[pid] if similarity and n.node.node_id in similarity]
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


def _plain_text(node: NodeWithScore) -> str:
    text = node.node.get_content()
    title = str(node.node.metadata.get("title", ""))
    return text[len(title) + 1:] if title and text.startswith(title + "\n") else text  # BM25 nodes carry the title


class Retriever:
    """Hybrid retrieval over one store. Cheap per query; the BM25 index and reranker load once, lazily."""

    def __init__(self, settings: Settings, store: PaperStore, embedder: BaseEmbedding) -> None:
        from llama_index.core import VectorStoreIndex

        self.settings = settings
        self.store = store
        self.embedder = embedder
        # Explicit embed model: llama-index's global default would be OpenAI.
        self._index = VectorStoreIndex.from_vector_store(store.vector_store(), embed_model=embedder)
        self._loaded: dict[str, Any] = {}  # "keyword", "reranker": loaded once, on first use
        self._load_lock = threading.Lock()

    def _load(self, key: str, load: Any) -> Any:
        with self._load_lock:
            if key not in self._loaded:
                self._loaded[key] = load()
            return self._loaded[key]

    @property
    def filter_index(self) -> FilterIndex:
        from assistant.search.filters import FilterIndex

        return self._load("filters", lambda: FilterIndex.build(self.store))

    def allowed(self, filters: Filters | None) -> frozenset[str] | None:
        """The papers `filters` let through, or None when there is nothing to filter."""
        return self.filter_index.allowed(filters) if filters is not None and filters.active else None

    @property
    def keyword(self) -> KeywordIndex:
        from assistant.search.keyword import open_keyword_index

        return self._load("keyword", lambda: open_keyword_index(self.store))

    def dense(self, query: str, embedding: list[float], top: int,
              where: dict | None = None) -> list[tuple[NodeWithScore, float]]:
        from llama_index.core.schema import QueryBundle

        # Chroma applies `where` before its nearest-neighbour search: the top chunks are the top allowed ones.
        retriever = self._index.as_retriever(similarity_top_k=top,
                                             vector_store_kwargs={"where": where} if where else {})
        nodes = retriever.retrieve(QueryBundle(query_str=query, embedding=embedding))
        return [(n, cosine_from_llama_score(n.score)) for n in nodes]

    def search(self, query: str, k: int | None = None, *, hybrid: bool | None = None,
               rerank: bool | None = None, filters: Filters | None = None) -> list[SearchHit]:
        cfg = self.settings.retrieval
        k = k or cfg.k
        hybrid = cfg.hybrid if hybrid is None else hybrid
        rerank = cfg.rerank if rerank is None else rerank
        top = max(cfg.candidates, k * 3)
        hits = self.candidates(query, top, top if rerank else k, hybrid=hybrid, filters=filters)
        return self._rerank(query, hits, k) if rerank else hits

    def candidates(self, query: str, top: int, keep: int, *, hybrid: bool = True,
                   filters: Filters | None = None) -> list[SearchHit]:
        """The best `keep` papers from the `top` chunks of dense search (fused with BM25's `top` and method-name
        matches when hybrid), one entry per paper, each with its dense cosine similarity; no reranking. With
        `filters`, both searches see only the papers that pass them."""
        from assistant.search.filters import chroma_where

        allowed = self.allowed(filters)
        if allowed is not None and not allowed:
            return []
        embedding = self.embedder.get_query_embedding(query)
        where = chroma_where(filters, allowed) if filters is not None and allowed is not None else None
        dense = self.dense(query, embedding, top, where)
        sims = {n.node.node_id: s for n, s in dense}
        if not hybrid:
            return group_by_paper(dense, keep, sims)

        keyword = self.keyword
        bm25 = keyword.search(query, top, allowed)
        named = keyword.name_matches(query, allowed)
        fused: dict[str, float] = {}
        for ranking in (dense, [(n, n.score or 0.0) for n in bm25]):
            seen: list[str] = []
            for node, _ in ranking:
                pid = str(node.node.metadata["paper_id"])
                if pid not in seen:
                    seen.append(pid)
                    fused[pid] = fused.get(pid, 0.0) + 1.0 / (RRF_K + len(seen))
        for pid in named:
            fused[pid] = fused.get(pid, 0.0) + NAME_BOOST
        nodes = [n for n, _ in dense] + list(bm25)
        missing = [pid for pid in named if all(str(n.node.metadata["paper_id"]) != pid for n in nodes)]
        nodes += self._nodes_of(missing)
        # Dense similarity for chunks only BM25 or a name match found, from their stored vectors.
        unscored = [str(n.node.metadata["paper_id"]) for n in nodes if n.node.node_id not in sims]
        for chunk in self.store.chunks_of(sorted(set(unscored))):
            sims.setdefault(chunk.chunk_id, _dot(embedding, chunk.embedding or []))
        ranked = sorted(nodes, key=lambda n: (-fused[str(n.node.metadata["paper_id"])],
                                              -sims.get(n.node.node_id, -1.0)))
        return group_by_paper([(n, fused[str(n.node.metadata["paper_id"])]) for n in ranked], keep, sims)

    def _nodes_of(self, paper_ids: list[str]) -> list[NodeWithScore]:
        from llama_index.core.schema import NodeWithScore, TextNode

        return [NodeWithScore(node=TextNode(id_=c.chunk_id, text=c.text, metadata={
                    "paper_id": c.paper_id, "title": c.title, "url": c.url, "position": c.position,
                    **({"published": c.published} if c.published else {}),
                    **({"author_count": c.author_count} if c.author_count is not None else {})}), score=0.0)
                for c in self.store.chunks_of(paper_ids)]

    def _rerank(self, query: str, hits: list[SearchHit], k: int) -> list[SearchHit]:
        from dataclasses import replace

        from assistant.search.rerank import load_reranker

        reranker = self._load("reranker", lambda: load_reranker(self.settings.retrieval))
        scores = reranker.predict([(query, f"{h.title}. {h.text}") for h in hits])
        order = sorted(zip(scores, hits, strict=True), key=lambda sh: -float(sh[0]))
        return [replace(h, score=round(float(s), 4)) for s, h in order[:k]]
