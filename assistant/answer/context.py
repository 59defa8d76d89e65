"""What of each source goes in the prompt: the sentences that matter for the question, within a token budget
that depends on the question's kind and the source's rank, numbered as [n].

Sentences are weighed by the question's words, each word by how rare it is among all the sources' sentences
(BM25-style idf), so a described question ("the paper that trains models to predict P(IK)") keeps the sentence
holding its rare words rather than the one repeating its common ones. The top source of a factual question goes in
whole when it fits. It does not decide which papers are sources (`plan`) or how the prompt reads (`prompts`).
"""

from __future__ import annotations

import math
import re
from itertools import pairwise

from assistant.text import approx_tokens, content_words, split_sentences
from assistant.types import QuestionKind, SearchHit, Source

# The sentence that says what a paper does: what a comparison cell or a "what does X do" answer needs most.
_CONTRIBUTION = re.compile(r"\b(?:we|this (?:paper|work)|our (?:method|approach|model|framework))\s+(?:\w+\s+)?"
                           r"(?:propose|introduce|present|develop|design|show|find|call|name)|\bcalled\b", re.I)
_ASKS_NUMBER = re.compile(r"\b(?:how (?:many|much|large|long|big|fast)|what (?:size|percentage|number|score)|"
                          r"by how|up to)\b", re.I)
WHOLE_TOP_SOURCE = 4  # a factual question's top source goes in whole up to this many times the per-source budget
FIRST_BONUS = 0.15  # the opening sentence says what the paper is about
CONTRIBUTION_BONUS = 0.3
NUMBER_BONUS = 0.25  # for a question that asks for an amount: sentences with a figure


def budgets(kind: QuestionKind, count: int, source_tokens: int) -> list[int]:
    """Tokens of source text per source, in rank order."""
    # A topic answer needs one line per paper, so each of its (more numerous) sources gets half the budget; a
    # comparison has only its compared papers as sources, and each table row needs its own sentence, so each gets
    # twice the budget; a factual answer usually comes from the top source, which goes in whole when it fits.
    if kind == QuestionKind.TOPIC:
        return [source_tokens // 2] * count
    if kind == QuestionKind.COMPARISON:
        return [source_tokens * 2] * count
    return [source_tokens * (WHOLE_TOP_SOURCE if i == 0 else 1) for i in range(count)]


def _idf(question: set[str], documents: list[set[str]]) -> dict[str, float]:
    """BM25's idf of each question word over the sentences (never negative, so a common word still counts)."""
    n = len(documents)
    return {w: math.log(1 + (n - df + 0.5) / (df + 0.5))
            for w in question for df in [sum(w in d for d in documents)]}


def _scores(question: str, sentences: list[str], idf: dict[str, float], kind: QuestionKind) -> list[float]:
    total = sum(idf.values()) or 1.0
    asks_number = bool(_ASKS_NUMBER.search(question))
    out = []
    for i, s in enumerate(sentences):
        words = content_words(s)
        score = sum(v for w, v in idf.items() if w in words) / total
        score += FIRST_BONUS if i == 0 else 0.0
        score += NUMBER_BONUS if asks_number and re.search(r"\d", s) else 0.0
        score += CONTRIBUTION_BONUS if _CONTRIBUTION.search(s) else 0.0
        out.append(score)
    return out


def compact(sentences: list[str], scores: list[float], budget: int) -> str:
    """The best-scored sentences within about `budget` tokens (always at least one), in text order, with "…"
    where sentences were left out."""
    if approx_tokens(" ".join(sentences)) <= budget:
        return " ".join(sentences)
    chosen: list[int] = []
    used = 0
    for _score, i in sorted(((s, i) for i, s in enumerate(scores)), key=lambda si: (-si[0], si[1])):
        cost = approx_tokens(sentences[i])
        if used + cost > budget and chosen:
            continue
        chosen.append(i)
        used += cost
    picked = sorted(chosen)
    parts = [sentences[picked[0]]]
    for prev, cur in pairwise(picked):
        parts.append(("… " if cur != prev + 1 else "") + sentences[cur])
    return " ".join(parts)


def sources_for(question: str, hits: list[SearchHit], kind: QuestionKind, source_tokens: int,
                abstracts: dict[str, str] | None = None) -> list[Source]:
    """Numbered sources, each compacted to its budget. `abstracts` (paper id -> whole abstract), when given,
    are what is compacted: the matched chunks of a hit may miss the sentence a question asks about."""
    texts = [(abstracts or {}).get(h.paper_id) or h.text.replace(" … ", " ") for h in hits]
    sentences = [split_sentences(t) or [t] for t in texts]
    idf = _idf(content_words(question), [content_words(s) for ss in sentences for s in ss])
    return [
        # The score shown is the dense cosine similarity: comparable across questions, unlike fused ranks.
        Source(n=i, paper_id=h.paper_id, title=h.title, url=h.url,
               score=h.similarity if h.similarity is not None else h.score,
               text=compact(ss, _scores(question, ss, idf, kind), budget), published=h.published,
               author_count=h.author_count)
        for (i, h), ss, budget in zip(enumerate(hits, 1), sentences, budgets(kind, len(hits), source_tokens),
                                      strict=True)
    ]
