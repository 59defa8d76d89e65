"""One chat turn on the page: a status line says what is happening (searching, waiting in line, the model reading
N sources with an estimate, writing) and counts the seconds; the preview (the sources' best sentences, cited)
shows as soon as the sources are found; the model's draft streams below it; then the checked answer replaces it
all, with the sources panel and the [n] links of the previous answer re-pointed at its papers. A set `cancel`
event stops the turn: the chat says "stopped" and keeps the preview and the sources.

Plain Python over the pipeline (no Gradio objects), so it is tested directly; `page` wires it to components.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from assistant.answer.gate import Busy
from assistant.answer.pipeline import (
    Finished,
    Generating,
    Pipeline,
    Preview,
    QuestionError,
    SourcesFound,
    Stopped,
    TextDelta,
    Waiting,
)
from assistant.config import ConfigError, Options
from assistant.llms.base import BackendError, GenerationError, Message
from assistant.llms.registry import BackendPool
from assistant.search.store import StoreError
from assistant.types import Answer
from assistant.ui import render

log = logging.getLogger(__name__)
# chat, plain history, sources panel, [n] -> url, the checked answers of the conversation (for export and saving)
Turn = tuple[list[dict], list[Message], str, dict[int, str], list[Answer]]


def _text(content: Any) -> str | None:
    """A chat message's text, whether plain (as we send it) or Gradio's list of content blocks (as it comes back)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(c, dict) and c.get("type") == "text" for c in content):
        return "".join(c.get("text", "") for c in content)
    return None


def freeze_previous(chat: list[dict], links: dict[int, str]) -> list[dict]:
    """The last answer's [n] links now point at its papers: the sources panel is about to show new sources."""
    for i in range(len(chat) - 1, -1, -1):
        if chat[i].get("role") == "assistant" and (text := _text(chat[i].get("content"))) is not None:
            chat = [*chat[:i], {"role": "assistant", "content": render.freeze_links(text, links)}, *chat[i + 1:]]
            break
    return chat


def status(backends: BackendPool, name: str) -> str:
    """The settings area's line about a backend: ready, or why not (never "we will use another one")."""
    ready = backends.readiness(name)
    if ready.ready:
        return f"✅ **{name}**: {render.escape_md(ready.detail)}"
    return (f"❌ **{name}** is not ready: {render.escape_md(ready.detail)}\n\n"
            "Questions are not answered with another backend: choose one marked ready, e.g. **extractive** "
            "(no generative model).")


_YEARS = re.compile(r"^\s*(\d{4})?\s*(?:(-|–|to|\.\.)\s*(\d{4})?)?\s*$")


def parse_years(text: str | None) -> tuple[int | None, int | None]:
    """The page's "Years" box: "2021-2023", "2024-" (and later), "-2021" (and earlier), "2023", or empty."""
    m = _YEARS.match(text or "")
    if not m or (m.group(2) and not (m.group(1) or m.group(3))):
        raise ConfigError(f"years {text!r}: write a year (2023), a range (2021-2023), 2024- or -2021")
    first, last = (int(g) if g else None for g in (m.group(1), m.group(3)))
    return (first, first) if first and not m.group(2) else (first, last)


def request_options(pipeline: Pipeline, backend: str, k: float, hybrid: bool, rerank: bool,
                    collection: str | None = None, years: str | None = None, author: str | None = None,
                    venue: str | None = None) -> Options:
    """The page's controls as validated request options (a ConfigError names the bad one)."""
    year_from, year_to = parse_years(years)
    filters = {"year_from": year_from, "year_to": year_to, "author": (author or "").strip() or None,
               "venue": (venue or "").strip() or None}
    return pipeline.options(backend=backend, k=int(k), hybrid=bool(hybrid), rerank=bool(rerank),
                            collection=collection or None, filters=filters)


@dataclass
class Bubble:
    """What the answer bubble shows while the turn runs: the step, since when, and what has arrived so far."""

    step: str = "searching"  # searching, waiting, reading, writing
    since: float = field(default_factory=time.monotonic)
    sources: int = 0
    model: str = ""
    ahead: int = 0
    estimate: float | None = None
    loading: bool = False
    preview: str | None = None
    draft: str = ""

    def go(self, step: str) -> None:
        self.step, self.since = step, time.monotonic()

    def status(self) -> str:
        t = f"{time.monotonic() - self.since:.0f} s"
        if self.step == "waiting":
            ahead = f"{self.ahead} question{'s' if self.ahead != 1 else ''} ahead of yours"
            return f"Waiting for the model: {ahead} · {t}"
        if self.step == "reading":
            n = f"{self.sources} source{'s' if self.sources != 1 else ''}"
            what = f"Loading {self.model}, then reading {n}" if self.loading else f"Reading {n} with {self.model}"
            about = f" of about {self.estimate:.0f} s" if self.estimate is not None else ""
            return f"{what} · {t}{about}"
        if self.step == "writing":
            return f"Writing the answer with {self.model} · {t}"
        return f"Searching the papers · {t}"

    def markdown(self) -> str:
        return render.working_markdown(self.status(), self.preview, self.draft)


def chat_turn(
    pipeline: Pipeline, message: str, chat: list[dict], plain: list[Message], links: dict[int, str], backend: str,
    k: int, hybrid: bool, rerank: bool, collection: str | None = None, years: str | None = None,
    author: str | None = None, venue: str | None = None, answers: list[Answer] | None = None,
    cancel: threading.Event | None = None, tick: float = 1.0,
) -> Iterator[Turn]:
    """One question: yields (chat messages, plain history, sources panel, [n] -> url, the checked answers so far)
    as the turn goes on, at least every `tick` seconds while it waits (the status line counts the seconds)."""
    answers = list(answers or [])
    bubble = Bubble()
    chat = [*freeze_previous(chat, links), {"role": "user", "content": render.escape_md(message or "")},
            {"role": "assistant", "content": bubble.markdown()}]
    yield chat, plain, render.sources_html([], note="Searching…"), {}, answers

    def fail(text: str, sources: list, note: str = "") -> Turn:
        chat[-1] = {"role": "assistant", "content": render.error_markdown(text)}
        return chat, plain, render.sources_html(sources, note=note), {}, answers

    backends = pipeline.backends
    try:
        options = request_options(pipeline, backend, k, hybrid, rerank, collection, years, author, venue)
    except (ConfigError, TypeError, ValueError) as e:
        yield fail(f"These settings cannot be used: {e}", [])
        return
    if not backends.built(backend) and not (ready := backends.readiness(backend)).ready:
        yield fail(f"The backend {backend} is not ready: {ready.detail}. Choose another one under Settings; "
                   "the question was not sent to any other backend.", [])
        return
    sources: list = []
    started = time.monotonic()
    try:
        note = ""
        for event in pipeline.run(message, history=plain, options=options, cancel=cancel, tick=tick):
            if isinstance(event, SourcesFound):
                sources = event.sources
                notes = [f"Searched for: {event.standalone}" if event.standalone != message.strip() else "",
                         f"Filtered: {event.filters}" if event.filters else ""]
                note = " · ".join(n for n in notes if n)
                bubble.sources = len(sources)
            elif isinstance(event, Preview):
                bubble.preview = event.text
            elif isinstance(event, Waiting):
                if bubble.step != "waiting":
                    bubble.go("waiting")
                bubble.ahead = event.ahead
            elif isinstance(event, Generating):
                bubble.model, bubble.estimate, bubble.loading = event.model, event.estimate, event.loading
                bubble.go("reading")
            elif isinstance(event, TextDelta):
                if bubble.step == "reading":
                    bubble.go("writing")
                bubble.draft += event.text
            elif isinstance(event, Stopped):
                chat[-1] = {"role": "assistant", "content": render.stopped_markdown(
                    time.monotonic() - started, bubble.preview)}
                yield chat, plain, render.sources_html(sources, note="Stopped; the sources found are kept."), {
                    s.n: s.url for s in sources}, answers
                return
            elif isinstance(event, Finished):
                answer = event.answer
                chat[-1] = {"role": "assistant", "content": render.answer_markdown(answer)}
                plain = [*plain, {"role": "user", "content": message}, {"role": "assistant", "content": answer.answer}]
                answers = [*answers, answer]
                yield (chat, plain, render.sources_html(answer.sources, answer, note), {s.n: s.url for s in sources},
                       answers)
                continue
            chat[-1] = {"role": "assistant", "content": bubble.markdown()}  # every other event: re-render
            yield chat, plain, render.sources_html(sources, note=note), {}, answers
    except QuestionError as e:
        yield fail(str(e), [])
    except Busy as e:
        yield fail(f"{str(e)[:1].upper()}{str(e)[1:]}.", sources)
    except StoreError as e:
        yield fail(f"The collection cannot be searched: {e}", [])
    except (BackendError, GenerationError) as e:
        kept = " The sources it found are listed under Sources." if sources else ""
        yield fail(f"The model failed ({backend}): {e}.{kept} Ask again, or choose another backend under Settings.",
                   sources, "Retrieval worked; generation failed." if sources else "")
    except Exception as e:  # one bad request must not take the page down
        log.exception("question failed: %r", message)
        yield fail(f"Something went wrong ({type(e).__name__}: {e}).", sources)


def reopen(answers: list[Answer]) -> Turn:
    """A saved chat as the page shows it: every answer with its [n] linked to its papers, the last one's sources
    in the panel (its markers link there), and the plain history the pipeline reads follow-ups against."""
    chat: list[dict] = []
    plain: list[Message] = []
    links: dict[int, str] = {}
    for answer in answers:
        chat = freeze_previous(chat, links)
        chat += [{"role": "user", "content": render.escape_md(answer.question)},
                 {"role": "assistant", "content": render.answer_markdown(answer)}]
        plain += [{"role": "user", "content": answer.question}, {"role": "assistant", "content": answer.answer}]
        links = {s.n: s.url for s in answer.sources}
    last = answers[-1] if answers else None
    panel = render.sources_html(last.sources, last) if last else render.sources_html([])
    return chat, plain, panel, links, list(answers)
