"""What to search for a question: one search for a factual question, one sub-query per compared item (with a
quota each) for a comparison, a wider net for a topic.

It decides the searches and keeps the order of the papers found; the searching itself is `search.retriever`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.answer.intent import detect
from assistant.config import Options
from assistant.search.retriever import Retriever
from assistant.types import QuestionKind, SearchHit

TOPIC_SOURCES = 6  # topic answers list papers: more sources, each shortened (context.sources_for)


@dataclass(frozen=True)
class Retrieval:
    """What the pipeline gets for a question: its kind, the compared items/aspects, and the papers found."""

    kind: QuestionKind
    hits: list[SearchHit]
    items: list[str] = field(default_factory=list)  # compared items, for comparisons
    aspects: list[str] = field(default_factory=list)  # table rows, for comparisons
    columns: list[tuple[str, int]] = field(default_factory=list)  # (item, its source number [n]), comparisons


def plan(retriever: Retriever, question: str, options: Options, per_item: int) -> Retrieval:
    """Detect the question's intent and retrieve for it with the request's k, hybrid and rerank."""

    def search(query: str, k: int) -> list[SearchHit]:
        return retriever.search(query, k, hybrid=options.hybrid, rerank=options.rerank)

    intent = detect(question)
    if intent.kind == QuestionKind.TOPIC:
        return Retrieval(QuestionKind.TOPIC, search(question, max(options.k, TOPIC_SOURCES)))
    if intent.kind == QuestionKind.COMPARISON:
        hits: list[SearchHit] = []
        columns: list[tuple[str, int]] = []
        for item in intent.items:
            taken = 0
            for hit in search(item, per_item + len(hits)):
                if any(h.paper_id == hit.paper_id for h in hits):
                    continue
                hits.append(hit)
                taken += 1
                if taken == 1:
                    columns.append((item, len(hits)))
                if taken == per_item:
                    break
        # Only the compared papers: every other source would lengthen the prompt (seconds on a CPU) for
        # nothing the table uses. A question whose items found nothing falls back to the main search.
        if not hits:
            return Retrieval(QuestionKind.FACTUAL, search(question, options.k))
        return Retrieval(QuestionKind.COMPARISON, hits, intent.items, intent.aspects, columns)
    return Retrieval(QuestionKind.FACTUAL, search(question, options.k))
