"""What to search for a question: one search for a factual question, one sub-query per referenced paper (with a
quota each) for a comparison, and for a topic every paper close enough to the best one, up to a cap.

A question is a comparison when it refers to two or more papers of the collection (`answer.resolve`), whatever
its grammar; a topic when it asks for the papers on a subject (`intent.topic_cue`). The searching itself is
`search.retriever`'s; what of each source goes into the prompt is `answer.context`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.answer.intent import MAX_ITEMS, aspects_in, comparison_cue, topic_cue, topic_subject
from assistant.answer.resolve import Reference, Resolver
from assistant.config import Options
from assistant.search.retriever import MAX_CHUNKS_PER_PAPER, Retriever
from assistant.types import QuestionKind, SearchHit


@dataclass(frozen=True)
class Retrieval:
    """What the pipeline gets for a question: its kind, the compared items/aspects, and the papers found."""

    kind: QuestionKind
    hits: list[SearchHit]
    items: list[str] = field(default_factory=list)  # compared papers' labels, for comparisons
    aspects: list[str] = field(default_factory=list)  # table rows, for comparisons
    columns: list[tuple[str, int]] = field(default_factory=list)  # (paper label, its source number [n])
    references: list[Reference] = field(default_factory=list)  # the papers the question refers to


def plan(retriever: Retriever, question: str, options: Options, per_item: int) -> Retrieval:
    """Find what the question refers to and retrieve for it with the request's k, hybrid and rerank."""
    cue = topic_cue(question)
    resolver = Resolver(retriever)
    # A topic question names a subject, not papers: its words are not searched as references.
    refs = resolver.references(question, lists=cue is None)
    allowed = retriever.allowed(options.filters)
    if allowed is not None:  # a paper the filters exclude is not compared or put first, even when named
        refs = [r for r in refs if r.paper_id in allowed]
    if len(refs) >= 2 and (cue is None or comparison_cue(question, strict=True)):
        return _comparison(retriever, question, options, per_item, refs[:MAX_ITEMS])
    if cue != "papers" and not refs and (ref := resolver.described(question)) and (
            allowed is None or ref.paper_id in allowed):
        refs = [ref]
    if cue == "papers" or (cue == "weak" and not refs):
        return Retrieval(QuestionKind.TOPIC, topic_hits(retriever, question, options), references=refs)
    return Retrieval(QuestionKind.FACTUAL, factual_hits(retriever, question, options, refs), references=refs)


def _search(retriever: Retriever, query: str, k: int, options: Options) -> list[SearchHit]:
    return retriever.search(query, k, hybrid=options.hybrid, rerank=options.rerank, filters=options.filters)


def factual_hits(retriever: Retriever, question: str, options: Options, refs: list[Reference]) -> list[SearchHit]:
    """The question's k best papers; when it names or describes one paper ("What does DePT do?", "the paper on
    ...", `Reference.definite`) that the search did not rank, that paper comes first: the question is about it
    whatever else matches its words."""
    hits = _search(retriever, question, options.k, options)
    named = [r for r in refs if r.definite]
    if len(named) != 1 or any(h.paper_id == named[0].paper_id for h in hits):
        return hits
    own = paper_hit(retriever, named[0].paper_id, retriever.embedder.get_query_embedding(question))
    return [own, *hits[: options.k - 1]] if own else hits


def topic_hits(retriever: Retriever, question: str, options: Options) -> list[SearchHit]:
    """At least k papers, then every further one whose dense similarity is within `topic_share` of the best
    paper's, up to `topic_max`: a topic answer should list every paper on it, and a narrow topic has few. The
    search is for the subject alone: "which papers are about" would only pull papers towards its own words."""
    cfg = retriever.settings.retrieval
    hits = _search(retriever, topic_subject(question), max(options.k, cfg.topic_max), options)
    sims = [h.similarity for h in hits if h.similarity is not None]
    floor = max(sims) * cfg.topic_share if sims else 0.0
    return [h for i, h in enumerate(hits) if i < options.k or (h.similarity or 0.0) >= floor]


def paper_hit(retriever: Retriever, paper_id: str, query: list[float]) -> SearchHit | None:
    """A referenced paper as a hit, whatever a search would rank first (a generic title, a dense-only search):
    its stored chunks, scored by their dense similarity to the question's embedding `query`."""
    chunks = sorted(retriever.store.chunks_of([paper_id]), key=lambda c: c.position)[:MAX_CHUNKS_PER_PAPER]
    if not chunks:
        return None
    sims = [sum(a * b for a, b in zip(query, c.embedding or [], strict=False)) for c in chunks]
    first = chunks[0]
    return SearchHit(paper_id=first.paper_id, title=first.title, url=first.url, score=round(max(sims), 4),
                     text=" … ".join(c.text for c in chunks), similarity=round(max(sims), 4),
                     published=first.published, author_count=first.author_count)


def _comparison(retriever: Retriever, question: str, options: Options, per_item: int,
                refs: list[Reference]) -> Retrieval:
    """Each referenced paper, then its sub-query's next best papers up to the per-item quota; nothing else
    (every other source would lengthen the prompt for nothing the table uses)."""
    hits: list[SearchHit] = []
    columns: list[tuple[str, int]] = []
    # Each source's similarity is to the whole question: the refusal threshold asks whether it is relevant.
    embedding = retriever.embedder.get_query_embedding(question)
    for ref in refs:
        own = paper_hit(retriever, ref.paper_id, embedding)  # the paper is known: no search needed to find it
        # With a quota of one the paper fills it; a larger quota is filled from the sub-query's search.
        found = _search(retriever, ref.query, per_item + len(hits) + 1, options) if per_item > 1 else []
        taken = 0
        for hit in ([own] if own else []) + [h for h in found if h.paper_id != ref.paper_id]:
            if taken == per_item:
                break
            if any(h.paper_id == hit.paper_id for h in hits):
                continue
            hits.append(hit)
            taken += 1
            if hit is own:
                columns.append((ref.label, len(hits)))
    labels = [label for label, _ in columns]
    return Retrieval(QuestionKind.COMPARISON, hits, labels, aspects_in(question), columns, refs)
