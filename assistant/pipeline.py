"""question -> (condense follow-up) -> retrieve -> prompt -> generate (streaming) -> check citations -> Answer.

The UI, the CLI and the eval all call `Pipeline.stream` / `Pipeline.ask`. The pipeline never picks another
backend on its own; it refuses without calling the model when no source is relevant enough.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import TYPE_CHECKING

from assistant.citations import check
from assistant.config import Settings
from assistant.llms.base import Backend, Message, Request
from assistant.prompts import Prompts
from assistant.retrieval import Retrieval
from assistant.text import approx_tokens, content_words, split_sentences
from assistant.types import REFUSAL, Answer, SearchHit, Source, Timings

if TYPE_CHECKING:
    from assistant.llms.registry import Registry
    from assistant.retrieval import Retriever

MAX_QUESTION_CHARS = 2000
HISTORY_TURNS = 6  # messages of chat history shown to the condense prompt
CLOSEST_SHOWN = 3


class QuestionError(ValueError):
    """The question cannot be answered as given (empty, too long). The message is shown to the user."""


@dataclass(frozen=True)
class SourcesFound:
    sources: list[Source]
    kind: str  # factual | comparison | topic
    standalone: str  # the question retrieval used (condensed when there was history)


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Finished:
    answer: Answer


Event = SourcesFound | TextDelta | Finished


def clean_question(question: str) -> str:
    """Drop control characters, fold whitespace; reject empty and over-long questions."""
    text = "".join(ch if unicodedata.category(ch)[0] != "C" or ch in "\n\t" else " " for ch in question or "")
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise QuestionError("Please type a question.")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"The question is {len(text):,} characters long; please keep it under {MAX_QUESTION_CHARS:,}."
        )
    return text


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


class Pipeline:
    def __init__(self, settings: Settings, retriever: Retriever, backend: Backend, prompts: Prompts | None = None):
        self.settings = settings
        self.retriever = retriever
        self.backend = backend
        self.prompts = prompts or Prompts(settings.prompts_dir)

    @classmethod
    def from_settings(cls, settings: Settings, registry: Registry | None = None) -> Pipeline:
        """Open the store, load the embedding model and build the configured backend (its model loads lazily)."""
        from assistant.embeddings import load_embedder
        from assistant.llms.registry import default_registry
        from assistant.retrieval import Retriever
        from assistant.store import PaperStore

        backend = (registry or default_registry()).build(settings.llm)
        store = PaperStore(settings)
        return cls(settings, Retriever(settings, store, load_embedder(settings.embedding)), backend)

    def with_backend(self, backend: Backend) -> Pipeline:
        """The same store and retriever with another backend (the UI's model switch)."""
        return Pipeline(self.settings, self.retriever, backend, self.prompts)

    # -- steps -------------------------------------------------------------------------------------------

    def condense(self, question: str, history: list[Message]) -> str:
        """Turn a follow-up into a standalone question using the chat history."""
        past = [m for m in history if m["role"] in ("user", "assistant") and m["content"].strip()]
        if not past:
            return question
        if not getattr(self.backend, "generative", True):
            last_user = next((m["content"] for m in reversed(past) if m["role"] == "user"), "")
            return f"{last_user} {question}".strip()
        shown = [{"role": m["role"], "content": m["content"][:400]} for m in past[-HISTORY_TURNS:]]
        messages = self.prompts.render("condense", history=shown, question=question)
        request = Request(messages=messages, question=question, max_tokens=64, temperature=0.0)
        text = "".join(self.backend.generate(request)).strip()
        line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        line = re.sub(r"^(standalone question|question)\s*:\s*", "", line, flags=re.I).strip()
        return line[:MAX_QUESTION_CHARS] or question

    def retrieve(self, question: str) -> Retrieval:
        return self.retriever.find(question, self.settings.retrieval.k)

    def sources_for(self, question: str, hits: list[SearchHit], kind: str = "factual") -> list[Source]:
        # A topic answer needs one line per paper, so each of its (more numerous) sources gets half the budget;
        # a factual answer usually comes from the top source, which gets twice the budget; a comparison has only
        # its compared papers as sources, and each table row needs its own sentence, so each gets twice the budget.
        base = self.settings.retrieval.source_tokens
        budgets = [base // 2 if kind == "topic" else base * 2 if kind == "comparison" or (i == 1 and kind == "factual")
                   else base for i in range(1, len(hits) + 1)]
        return [
            # The score shown is the dense cosine similarity: comparable across questions, unlike fused ranks.
            Source(n=i, paper_id=h.paper_id, title=h.title, url=h.url,
                   score=h.similarity if h.similarity is not None else h.score,
                   text=compact(question, h, budget), published=h.published, author_count=h.author_count)
            for (i, h), budget in zip(enumerate(hits, 1), budgets, strict=True)
        ]

    def relevant(self, retrieval: Retrieval) -> bool:
        sims = [h.similarity for h in retrieval.hits if h.similarity is not None]
        return bool(retrieval.hits) and (max(sims) if sims else 0.0) >= self.settings.retrieval.min_score

    def messages(self, question: str, retrieval: Retrieval, sources: list[Source]) -> list[Message]:
        common = {"refusal": REFUSAL, "sources": sources, "question": question}
        if retrieval.kind == "comparison":
            return self.prompts.render("compare", items=retrieval.items, aspects=retrieval.aspects,
                                       columns=retrieval.columns, **common)
        if retrieval.kind == "topic":
            return self.prompts.render("topic", **common)
        return self.prompts.render("answer", **common)

    # -- the whole run -----------------------------------------------------------------------------------

    def stream(self, question: str, history: list[Message] | None = None) -> Iterator[Event]:
        """Yield SourcesFound, then TextDelta pieces, then Finished. Raises QuestionError, GenerationError."""
        start = time.perf_counter()
        asked = clean_question(question)
        standalone = self.condense(asked, history or [])
        retrieval = self.retrieve(standalone)
        t_retrieve = time.perf_counter() - start
        sources = self.sources_for(standalone, retrieval.hits, retrieval.kind)
        yield SourcesFound(sources, retrieval.kind, standalone)

        def finish(text: str, refused: bool, first: float | None, **extra: object) -> Finished:
            timings = Timings(round(t_retrieve, 4), None if first is None else round(first, 4),
                              round(time.perf_counter() - start, 4))
            answer = Answer(question=asked, answer=text, refused=refused, citations=[], sources=sources,
                            model=self.backend.name, timings=timings, kind=retrieval.kind,
                            standalone_question=standalone if standalone != asked else None)
            return Finished(replace(answer, **extra))

        if not self.relevant(retrieval):
            text = refusal_text(sources)
            yield TextDelta(text)
            yield finish(text, True, None)
            return

        request = Request(
            messages=self.messages(standalone, retrieval, sources), question=standalone, sources=sources,
            max_tokens=self.settings.llm.max_tokens, temperature=self.settings.llm.temperature,
        )
        pieces: list[str] = []
        first: float | None = None
        for piece in self.backend.generate(request):
            if first is None and piece:
                first = time.perf_counter() - start
            pieces.append(piece)
            yield TextDelta(piece)
        checked = check("".join(pieces), sources)
        # Refused: the model says so (and supports next to nothing), or nothing in the answer cites a source, or
        # none of its claims is supported (e.g. an invented score): an answer from memory, or one that obeyed an
        # injected instruction.
        says_no = checked.says_refusal and len(checked.unsupported) >= checked.claims - 1
        unfounded = checked.claims > 0 and len(checked.unsupported) >= checked.claims
        if says_no or unfounded or not checked.citations or not checked.text:
            yield finish(refusal_text(sources), True, first, unsupported=checked.unsupported,
                         invalid_markers=checked.invalid_markers)
            return
        yield finish(checked.text, False, first, citations=checked.citations,
                     invalid_markers=checked.invalid_markers, unsupported=checked.unsupported)

    def ask(self, question: str, history: list[Message] | None = None) -> Answer:
        for event in self.stream(question, history):
            if isinstance(event, Finished):
                return event.answer
        raise AssertionError("stream ended without Finished")  # pragma: no cover


def refusal_text(sources: list[Source]) -> str:
    closest = "; ".join(f"“{s.title}”" for s in sources[:CLOSEST_SHOWN])
    return f"{REFUSAL} Closest papers: {closest}." if closest else REFUSAL
