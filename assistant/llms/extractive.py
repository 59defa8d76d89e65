"""The `extractive` backend: answers with the sources' sentences that best match the question, each cited.

Needs no generative model, so it is instant and always available; it is also the eval's floor. It cannot
paraphrase, compare in prose or rewrite follow-up questions.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from assistant.llms.base import Backend, Request
from assistant.text import content_words, split_sentences
from assistant.types import REFUSAL

MAX_SENTENCES = 4
MIN_SCORE = 0.2  # share of the question's (idf-weighted) words a sentence must hold


class ExtractiveBackend(Backend):
    name = "extractive"
    generative = False

    def generate(self, request: Request) -> Iterator[str]:
        yield self.answer(request)

    def answer(self, request: Request, limit: int = MAX_SENTENCES) -> str:
        """At most `limit` sentences (two per source), best first, each with its [n]; REFUSAL when none match."""
        question = content_words(request.question)
        candidates = [(s.n, sent) for s in request.sources for sent in split_sentences(s.text)]
        if not question or not candidates:
            return REFUSAL
        # Words rare across the candidate sentences (method names) weigh more than common ones.
        df: dict[str, int] = {}
        bags = [content_words(sent) for _, sent in candidates]
        for bag in bags:
            for w in bag:
                df[w] = df.get(w, 0) + 1
        idf = {w: math.log(1 + len(bags) / df.get(w, 0.5)) for w in question}
        total = sum(idf.values())
        scored = sorted(
            ((sum(idf[w] for w in question & bag) / total, i) for i, bag in enumerate(bags)), reverse=True
        )
        chosen: list[int] = []
        per_source: dict[int, int] = {}
        for score, i in scored:
            n = candidates[i][0]
            if score < MIN_SCORE or len(chosen) >= limit:
                break
            if per_source.get(n, 0) >= 2:
                continue
            per_source[n] = per_source.get(n, 0) + 1
            chosen.append(i)
        if not chosen:
            return REFUSAL
        return " ".join(f"{candidates[i][1].rstrip()} [{candidates[i][0]}]" for i in chosen)
