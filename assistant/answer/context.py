"""What of each source goes in the prompt: the sentences that matter for the question, within a token budget
that depends on the question's kind, numbered as [n].

It does not decide which papers are sources (`plan`) or how the prompt reads (`prompts`).
"""

from __future__ import annotations

import re
from itertools import pairwise

from assistant.text import approx_tokens, content_words, split_sentences
from assistant.types import QuestionKind, SearchHit, Source

# The sentence that says what a paper does: what a comparison cell or a "what does X do" answer needs most.
_CONTRIBUTION = re.compile(r"\b(?:we|this (?:paper|work)|our (?:method|approach|model|framework))\s+(?:\w+\s+)?"
                           r"(?:propose|introduce|present|develop|design|show|find|call|name)|\bcalled\b", re.I)


def compact(question: str, hit: SearchHit, budget: int) -> str:
    """The sentences of a source that matter for the question, within about `budget` tokens, in text order."""
    sentences = split_sentences(hit.text.replace(" … ", " "))
    if approx_tokens(" ".join(sentences)) <= budget:
        return " ".join(sentences)
    q = content_words(question)
    scored = []
    for i, s in enumerate(sentences):
        words = content_words(s)
        score = (len(q & words) / (1 + len(q)) + (0.25 if i == 0 else 0.0) + (0.1 if re.search(r"\d", s) else 0)
                 + (0.3 if _CONTRIBUTION.search(s) else 0.0))
        scored.append((score, i))
    chosen: list[int] = []
    used = 0
    for _score, i in sorted(scored, reverse=True):
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


def sources_for(question: str, hits: list[SearchHit], kind: QuestionKind, source_tokens: int) -> list[Source]:
    """Numbered sources, each compacted to its budget."""
    # A topic answer needs one line per paper, so each of its (more numerous) sources gets half the budget;
    # a factual answer usually comes from the top source, which gets twice the budget; a comparison has only
    # its compared papers as sources, and each table row needs its own sentence, so each gets twice the budget.
    base = source_tokens
    budgets = [base // 2 if kind == QuestionKind.TOPIC
               else base * 2 if kind == QuestionKind.COMPARISON or (i == 1 and kind == QuestionKind.FACTUAL)
               else base for i in range(1, len(hits) + 1)]
    return [
        # The score shown is the dense cosine similarity: comparable across questions, unlike fused ranks.
        Source(n=i, paper_id=h.paper_id, title=h.title, url=h.url,
               score=h.similarity if h.similarity is not None else h.score,
               text=compact(question, h, budget), published=h.published, author_count=h.author_count)
        for (i, h), budget in zip(enumerate(hits, 1), budgets, strict=True)
    ]
