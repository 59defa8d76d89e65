"""One chat turn on the page: the question streams into the chat, then the checked answer replaces it, with
the sources panel and the [n] links of the previous answer re-pointed at its papers.

Plain Python over the pipeline (no Gradio objects), so it is tested directly; `page` wires it to components.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from assistant.answer.pipeline import Finished, Pipeline, QuestionError, SourcesFound, TextDelta
from assistant.config import ConfigError
from assistant.llms.base import BackendError, GenerationError, Message
from assistant.llms.registry import BackendPool
from assistant.ui import render

log = logging.getLogger(__name__)
Turn = tuple[list[dict], list[Message], str, dict[int, str]]  # chat, plain history, sources panel, [n] -> url


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


def chat_turn(
    pipeline: Pipeline, message: str, chat: list[dict], plain: list[Message], links: dict[int, str], backend: str,
    k: int, hybrid: bool, rerank: bool,
) -> Iterator[Turn]:
    """One question: yields (chat messages, plain history, sources panel, [n] -> url) as the answer streams."""
    chat = [*freeze_previous(chat, links), {"role": "user", "content": render.escape_md(message or "")},
            {"role": "assistant", "content": "…"}]
    yield chat, plain, render.sources_html([], note="Searching…"), {}

    def fail(text: str, sources: list, note: str = "") -> Turn:
        chat[-1] = {"role": "assistant", "content": render.error_markdown(text)}
        return chat, plain, render.sources_html(sources, note=note), {}

    backends = pipeline.backends
    try:
        options = pipeline.options(backend=backend, k=int(k), hybrid=bool(hybrid), rerank=bool(rerank))
    except (ConfigError, TypeError, ValueError) as e:
        yield fail(f"These settings cannot be used: {e}", [])
        return
    if not backends.built(backend) and not (ready := backends.readiness(backend)).ready:
        yield fail(f"The backend {backend} is not ready: {ready.detail}. Choose another one under Settings; "
                   "the question was not sent to any other backend.", [])
        return
    sources: list = []
    try:
        text, note = "", ""
        for event in pipeline.stream(message, history=plain, options=options):
            if isinstance(event, SourcesFound):
                sources = event.sources
                note = f"Searched for: {event.standalone}" if event.standalone != message.strip() else ""
                yield chat, plain, render.sources_html(sources, note=note), {}
            elif isinstance(event, TextDelta):
                text += event.text
                chat[-1] = {"role": "assistant", "content": render.streaming_markdown(text)}
                yield chat, plain, render.sources_html(sources, note=note), {}
            elif isinstance(event, Finished):
                answer = event.answer
                chat[-1] = {"role": "assistant", "content": render.answer_markdown(answer)}
                plain = [*plain, {"role": "user", "content": message}, {"role": "assistant", "content": answer.answer}]
                yield chat, plain, render.sources_html(answer.sources, answer, note), {s.n: s.url for s in sources}
    except QuestionError as e:
        yield fail(str(e), [])
    except (BackendError, GenerationError) as e:
        kept = " The sources it found are listed under Sources." if sources else ""
        yield fail(f"The model failed ({backend}): {e}.{kept} Ask again, or choose another backend under Settings.",
                   sources, "Retrieval worked; generation failed." if sources else "")
    except Exception as e:  # one bad request must not take the page down
        log.exception("question failed: %r", message)
        yield fail(f"Something went wrong ({type(e).__name__}: {e}).", sources)
