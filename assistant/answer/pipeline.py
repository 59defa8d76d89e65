"""question -> (condense follow-up) -> plan and retrieve -> sources -> preview -> wait for the model's turn ->
prompt -> generate (streaming) -> drop echoed instructions -> check citations -> Answer (or the fixed refusal with
the closest papers).

The UI, the CLI, the eval and the API all call `Pipeline.stream` / `Pipeline.ask` (or `Pipeline.run`, the same in a
worker thread with a heartbeat), with per-request `Options`. The events say what is happening: `SourcesFound`, a
`Preview` (the best-matching source sentences, cited, before the model has read anything), `Waiting` (in the
gate's line), `Generating` (the model reads the prompt; with an estimate from this machine's timings), the draft
as `TextDelta`s, then `Finished` — or `Stopped` when the caller's cancel event was set.

The pipeline never picks another backend on its own; it refuses without calling the model when no source is
relevant enough or the question quotes a title no source has. Streamed text is an unchecked draft: only the
`Finished` answer is checked. It is built in one place, `assistant.app.build`.
"""

from __future__ import annotations

import queue
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from assistant.answer.citations import check
from assistant.answer.context import sources_for
from assistant.answer.filters import parse_filters
from assistant.answer.gate import Gate, Ticket
from assistant.answer.plan import Retrieval, plan
from assistant.answer.prompts import Prompts, strip_echoes
from assistant.answer.refusal import (
    absent_detail,
    absent_paper,
    missing_title,
    must_refuse,
    sets_sources_aside,
    unknown_names,
    unstated_figure,
)
from assistant.answer.resolve import Resolver
from assistant.config import ConfigError, Options, Settings
from assistant.llms.base import Backend, Message, Request
from assistant.llms.extractive import ExtractiveBackend
from assistant.llms.registry import BackendPool
from assistant.llms.timing import ModelTimings
from assistant.search.collections import Collections
from assistant.search.retriever import Retriever
from assistant.types import REFUSAL, Answer, QuestionKind, Source, Timings

MAX_QUESTION_CHARS = 2000
HISTORY_TURNS = 6  # messages of chat history shown to the condense prompt
CLOSEST_SHOWN = 3
PREVIEW_SENTENCES = 2


class QuestionError(ValueError):
    """The question cannot be answered as given (empty, too long). The message is shown to the user."""


@dataclass(frozen=True)
class SourcesFound:
    sources: list[Source]
    kind: QuestionKind
    standalone: str  # the question retrieval used (condensed when there was history, without filter words)
    filters: str = ""  # the filters applied, as `Filters.label()` says them ("2024–, author Smith"); "" for none


@dataclass(frozen=True)
class Preview:
    """The sources' sentences that best match the question, each cited [n], shown until the model's answer is
    ready. Quoted from the sources, not written by the model; never part of the checked answer."""

    text: str


@dataclass(frozen=True)
class Waiting:
    """In the gate's line: `ahead` requests are served first. Sent again whenever the number changes."""

    ahead: int


@dataclass(frozen=True)
class Generating:
    """The model has the prompt and is reading it; the first TextDelta follows. `estimate` is the expected wait
    for the first token in seconds, from this machine's measured timings (None until the model was timed here),
    including the model's load when `loading`."""

    model: str
    sources: int
    prompt_chars: int
    estimate: float | None
    loading: bool


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Finished:
    answer: Answer


@dataclass(frozen=True)
class Stopped:
    """The caller cancelled: no checked answer. `draft` is what the model had written (unchecked)."""

    draft: str


@dataclass(frozen=True)
class Tick:
    """`Run`'s heartbeat: nothing new for `Run.tick` seconds (the caller may refresh its elapsed-time display)."""


Event = SourcesFound | Preview | Waiting | Generating | TextDelta | Finished | Stopped


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


class Pipeline:
    def __init__(self, settings: Settings, retriever: Retriever, backends: BackendPool,
                 prompts: Prompts | None = None, collections: Collections | None = None, gate: Gate | None = None,
                 timings: ModelTimings | None = None) -> None:
        self.settings = settings
        self.retriever = retriever  # the default collection's
        self.backends = backends
        self.prompts = prompts or Prompts(settings.prompts_dir)
        self.collections = collections
        self.gate = gate  # None: no queue (scripts, tests); the app's is shared by the page, the API and MCP
        self.timings = timings or ModelTimings(None)

    def retriever_for(self, options: Options) -> Retriever:
        """The retriever of the collection the request names (reopened after an upload changed it)."""
        if self.collections is not None:
            return self.collections.retriever(options.collection)
        if options.collection != self.retriever.store.collection_label:
            raise ConfigError(f"collection {options.collection!r}: this pipeline serves only "
                              f"{self.retriever.store.collection_label!r}")
        return self.retriever

    def with_question_filters(self, question: str, options: Options) -> tuple[str, Options]:
        """The filters the question states in its words ("since 2024", "by Smith") added to the request's own
        (the question's win where both set one), and the question without those words."""
        parsed = parse_filters(question, self.retriever_for(options).filter_index)
        if not parsed.filters.active:
            return question, options
        filters = parsed.filters.merged(options.filters)
        return parsed.question, Options.model_validate({**options.model_dump(), "filters": filters.model_dump()})

    def options(self, **chosen: object) -> Options:
        """This pipeline's default options with the caller's choices (None = default); validated."""
        return Options.for_request(self.settings, **{"backend": self.backends.default, **chosen})

    # -- steps -------------------------------------------------------------------------------------------

    def condense(self, question: str, history: list[Message], backend: Backend) -> str:
        """Turn a follow-up into a standalone question using the chat history."""
        past = [m for m in history if m["role"] in ("user", "assistant") and m["content"].strip()]
        if not past:
            return question
        if not backend.generative:
            last_user = next((m["content"] for m in reversed(past) if m["role"] == "user"), "")
            return f"{last_user} {question}".strip()
        shown = [{"role": m["role"], "content": m["content"][:400]} for m in past[-HISTORY_TURNS:]]
        messages = self.prompts.render("condense", history=shown, question=question)
        request = Request(messages=messages, question=question, max_tokens=64, temperature=0.0)
        text = "".join(backend.generate(request)).strip()
        line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        line = re.sub(r"^(standalone question|question)\s*:\s*", "", line, flags=re.I).strip()
        return line[:MAX_QUESTION_CHARS] or question

    def retrieve(self, question: str, options: Options | None = None) -> Retrieval:
        options = options or self.options()
        return plan(self.retriever_for(options), question, options, self.settings.retrieval.per_item)

    def sources_for(self, question: str, retrieval: Retrieval,
                    abstracts: dict[str, str] | None = None) -> list[Source]:
        if abstracts is None:
            abstracts = self._abstracts([h.paper_id for h in retrieval.hits])
        return sources_for(question, retrieval.hits, retrieval.kind, self.settings.retrieval.source_tokens, abstracts)

    def _abstracts(self, paper_ids: list[str], options: Options | None = None) -> dict[str, str]:
        """paper id -> its whole abstract, as stored with its first chunk (a hit holds only its matched chunks)."""
        firsts = self.retriever_for(options or self.options()).store.first_chunks(list(dict.fromkeys(paper_ids)))
        return {pid: first.abstract for pid, first in firsts.items() if first.abstract}

    def relevant(self, retrieval: Retrieval) -> bool:
        """Some source is close enough to the question, or the question names a paper of the collection (a
        question made mostly of names, "How does LeTI differ from DePT?", is far from every abstract's words)."""
        if not retrieval.hits:
            return False
        if any(r.via in ("name", "title") for r in retrieval.references):
            return True
        sims = [h.similarity for h in retrieval.hits if h.similarity is not None]
        return (max(sims) if sims else 0.0) >= self.settings.retrieval.min_score

    def unanswerable(self, question: str, retrieval: Retrieval, sources: list[Source],
                     abstracts: dict[str, str], options: Options | None = None) -> bool:
        """Refused before the model is asked: the question tells it to answer from anything but the sources,
        quotes a title no source has or names a paper the
        collection does not have ("the AlphaFold 2 paper", "the original LoRA paper" where no paper introduces
        LoRA), or (not a topic) uses a name no abstract mentions ("the ExeCAD dataset") or takes for granted a
        figure no source states, or (a factual question) asks for a detail that no source's whole abstract
        mentions (the named paper's own abstract, when it names one)."""
        if sets_sources_aside(question) or missing_title(question, sources):
            return True
        retriever = self.retriever_for(options or self.options())
        keyword = retriever.keyword
        if absent_paper(question, keyword.names_a_paper, keyword.introduces):
            return True
        texts = [f"{s.title} {abstracts.get(s.paper_id, s.text)}" for s in sources]
        if retrieval.kind == QuestionKind.TOPIC:  # a topic names a subject: the papers near it are its answer
            return False
        if unknown_names(question, Resolver(retriever).knows):
            return True
        if unstated_figure(question, texts):
            return True
        if retrieval.kind != QuestionKind.FACTUAL:
            return False
        # A detail asked of the one paper the question names (or describes) must be in that paper's abstract: a
        # neighbour that mentions a learning rate does not give this paper's.
        named = {r.paper_id for r in retrieval.references if r.definite}
        own = [t for s, t in zip(sources, texts, strict=True) if s.paper_id in named] if len(named) == 1 else []
        return absent_detail(question, own or texts)

    def declines(self, question: str, retrieval: Retrieval, sources: list[Source] | None = None,
                 abstracts: dict[str, str] | None = None, options: Options | None = None) -> bool:
        """Whether the fixed refusal is given without asking the model: no source is relevant enough, or the
        question is unanswerable from them (`unanswerable`). The eval's retrieval-only runs use this too."""
        if not self.relevant(retrieval):
            return True
        if abstracts is None:
            abstracts = self._abstracts([h.paper_id for h in retrieval.hits], options)
        if sources is None:
            sources = self.sources_for(question, retrieval, abstracts)
        return self.unanswerable(question, retrieval, sources, abstracts, options)

    def _prompt(self, retrieval: Retrieval) -> tuple[str, dict[str, object]]:
        """The template for the question's kind and the variables it needs besides sources and question."""
        if retrieval.kind == QuestionKind.COMPARISON:
            return "compare", {"items": retrieval.items, "aspects": retrieval.aspects, "columns": retrieval.columns}
        return ("topic" if retrieval.kind == QuestionKind.TOPIC else "answer"), {}

    def messages(self, question: str, retrieval: Retrieval, sources: list[Source]) -> list[Message]:
        name, extra = self._prompt(retrieval)
        return self.prompts.render(name, refusal=REFUSAL, sources=sources, question=question, **extra)

    def instructions(self, retrieval: Retrieval) -> list[str]:
        """The lines of the question's prompt an answer must not reproduce."""
        name, extra = self._prompt(retrieval)
        return self.prompts.instructions(name, **extra)

    def max_tokens(self, kind: QuestionKind) -> int:
        """Each kind its own output budget: a comparison's table and synthesis must not be cut."""
        llm = self.settings.llm
        return {QuestionKind.COMPARISON: llm.max_tokens_comparison, QuestionKind.TOPIC: llm.max_tokens_topic}.get(
            kind, llm.max_tokens)

    # -- the whole run -----------------------------------------------------------------------------------

    def preview(self, question: str, sources: list[Source]) -> str | None:
        """The best-matching sentences of the sources, cited as [n] (the extractive backend's answer, shorter);
        None when no sentence matches the question well enough."""
        text = ExtractiveBackend().answer(Request(messages=[], question=question, sources=sources),
                                          limit=PREVIEW_SENTENCES)
        return None if text == REFUSAL else text

    def _turn(self, ticket: Ticket | None, cancel: threading.Event | None) -> Iterator[Waiting]:
        """Wait until `ticket` holds a slot of the gate, saying how many are ahead whenever that changes."""
        if ticket is None:
            return
        said = None
        while not ticket.wait(0.25):
            if cancel is not None and cancel.is_set():
                return
            if (ahead := ticket.ahead()) != said:
                said = ahead
                yield Waiting(ahead)

    def stream(self, question: str, history: list[Message] | None = None, options: Options | None = None,
               cancel: threading.Event | None = None) -> Iterator[Event]:
        """Yield SourcesFound, a Preview (when a sentence matches), Waiting while other requests hold the model,
        Generating, TextDelta pieces, then Finished; or Stopped, once `cancel` is set. Raises QuestionError,
        BackendError (the backend cannot be built), Busy (the gate's line is full) and GenerationError."""
        start = time.perf_counter()
        options = options or self.options()
        asked = clean_question(question)
        backend = self.backends.get(options.backend)
        ticket = self.gate.join() if self.gate is not None else None  # Busy now, before anything was sent
        try:
            yield from self._stream(start, asked, history or [], options, backend, ticket, cancel)
        finally:
            if ticket is not None:
                ticket.release()

    def _stream(self, start: float, asked: str, history: list[Message], options: Options, backend: Backend,
                ticket: Ticket | None, cancel: threading.Event | None) -> Iterator[Event]:
        def cancelled() -> bool:
            return cancel is not None and cancel.is_set()

        if history and backend.generative:  # the follow-up is rewritten by the model: wait for it first
            yield from self._turn(ticket, cancel)
            if cancelled():
                yield Stopped("")
                return
        standalone = self.condense(asked, history, backend)
        standalone, options = self.with_question_filters(standalone, options)
        label = options.filters.label() if options.filters.active else ""
        retrieval = self.retrieve(standalone, options)
        t_retrieve = time.perf_counter() - start
        abstracts = self._abstracts([h.paper_id for h in retrieval.hits], options)
        sources = self.sources_for(standalone, retrieval, abstracts)
        yield SourcesFound(sources, retrieval.kind, standalone, label)

        def finish(text: str, refused: bool, first: float | None, **extra: object) -> Finished:
            timings = Timings(round(t_retrieve, 4), None if first is None else round(first, 4),
                              round(time.perf_counter() - start, 4))
            answer = Answer(question=asked, answer=text, refused=refused, citations=[], sources=sources,
                            model=backend.name, timings=timings, kind=retrieval.kind,
                            standalone_question=standalone if standalone != asked else None, filters=label,
                            collection=options.collection)
            return Finished(replace(answer, **extra))

        if label and not retrieval.hits:  # the filter, not the content: say so, and refuse nothing
            text = no_match_text(label, self.retriever_for(options).store.collection_label)
            yield TextDelta(text)
            yield finish(text, False, None)
            return
        if self.declines(standalone, retrieval, sources, abstracts, options):
            text = refusal_text(sources)
            yield TextDelta(text)
            yield finish(text, True, None)
            return
        if backend.generative and (shown := self.preview(standalone, sources)):
            yield Preview(shown)
        yield from self._turn(ticket, cancel)
        if cancelled():
            yield Stopped("")
            return

        request = Request(
            messages=self.messages(standalone, retrieval, sources), question=standalone, sources=sources,
            max_tokens=self.max_tokens(retrieval.kind), temperature=self.settings.llm.temperature, cancel=cancel,
        )
        chars = sum(len(m["content"]) for m in request.messages)
        loading = not backend.loaded
        estimate = self.timings.prefill_estimate(backend.name, chars)
        if loading and estimate is not None:
            load = self.timings.load_estimate(backend.name)
            estimate = None if load is None else estimate + load
        yield Generating(backend.name, len(sources), chars, estimate, loading)
        pieces: list[str] = []
        first: float | None = None
        sent = time.perf_counter()
        for piece in backend.generate(request):
            if first is None and piece:
                first = time.perf_counter() - start
                if not loading:  # a load would time the disk, not the reading
                    self.timings.record_prefill(backend.name, chars, time.perf_counter() - sent)
            pieces.append(piece)
            yield TextDelta(piece)
        if cancelled():
            yield Stopped("".join(pieces))
            return
        text, _echoed = strip_echoes("".join(pieces), self.instructions(retrieval))
        checked = check(text, sources, focus=focus(retrieval, sources))
        if must_refuse(checked):
            yield finish(refusal_text(sources), True, first, unsupported=checked.unsupported,
                         invalid_markers=checked.invalid_markers)
            return
        yield finish(checked.text, False, first, citations=checked.citations,
                     invalid_markers=checked.invalid_markers, unsupported=checked.unsupported)

    def run(self, question: str, history: list[Message] | None = None, options: Options | None = None,
            cancel: threading.Event | None = None, tick: float = 1.0) -> Run:
        """`stream` in a worker thread: iterating gives its events, and a `Tick` whenever `tick` seconds pass
        without one; `Run.stop()` (or leaving the loop) sets `cancel`, so the model stops within a moment."""
        cancel = cancel or threading.Event()
        return Run(lambda: self.stream(question, history, options, cancel), cancel, tick)

    def ask(self, question: str, history: list[Message] | None = None, options: Options | None = None) -> Answer:
        for event in self.stream(question, history, options):
            if isinstance(event, Finished):
                return event.answer
        raise AssertionError("stream ended without Finished")  # pragma: no cover


class Run:
    """One request's events produced in a worker thread. Iterate it once; exceptions of the stream are raised
    where the events are read. Leaving the loop early (or `stop()`) cancels the request and waits briefly for the
    worker to give its queue slot and the model back."""

    _END = object()

    def __init__(self, events: Callable[[], Iterator[Event]], cancel: threading.Event, tick: float) -> None:
        self._events = events
        self.cancel = cancel
        self.tick = tick
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread = threading.Thread(target=self._work, daemon=True, name="answer")

    def _work(self) -> None:
        try:
            events = self._events()
            try:
                for event in events:
                    self._queue.put(event)
            finally:
                events.close()
        except BaseException as e:  # handed to the reading thread, which raises it
            self._queue.put(_Failed(e))
        self._queue.put(self._END)

    def stop(self) -> None:
        self.cancel.set()

    def __iter__(self) -> Iterator[Event | Tick]:
        self._thread.start()
        try:
            while True:
                try:
                    item = self._queue.get(timeout=self.tick)
                except queue.Empty:
                    yield Tick()
                    continue
                if item is self._END:
                    return
                if isinstance(item, _Failed):
                    raise item.error
                yield item  # type: ignore[misc]
        finally:
            if self._thread.is_alive():
                self.cancel.set()
                self._thread.join(10)


@dataclass(frozen=True)
class _Failed:
    error: BaseException


def focus(retrieval: Retrieval, sources: list[Source]) -> int | None:
    """The source of the one paper a factual question names or describes ("What does DePT decompose ...?",
    `Reference.definite`), else None."""
    named = {r.paper_id for r in retrieval.references if r.definite}
    if retrieval.kind != QuestionKind.FACTUAL or len(named) != 1:
        return None
    return next((s.n for s in sources if s.paper_id in named), None)


def no_match_text(label: str, collection: str) -> str:
    return (f"No paper in the collection “{collection}” matches the filter ({label}). Widen or clear the filter "
            "to search all papers.")


def refusal_text(sources: list[Source]) -> str:
    closest = "; ".join(f"“{s.title}”" for s in sources[:CLOSEST_SHOWN])
    return f"{REFUSAL} Closest papers: {closest}." if closest else REFUSAL
