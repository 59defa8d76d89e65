"""The chat UI over real HTTP: launched in-process on a free loopback port, driven with gradio_client.

Plus the renderer on its own: escaping, [n] links, frozen links in history. The backends are real `Backend`
subclasses registered by name: the scripted fake, one that dies mid-stream and one that is not ready.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from assistant.app import build
from assistant.config import ConfigError, UISettings
from assistant.llms.base import Backend, BackendSpec, GenerationError, Readiness, Request
from assistant.llms.fake import FakeBackend
from assistant.llms.registry import Registry
from assistant.types import REFUSAL, Answer, Citation, Source, Timings
from assistant.ui import render
from assistant.ui.chat import chat_turn
from assistant.ui.page import build_app
from assistant.ui.serve import auth_for, launch
from tests.support import make_settings

NOT_READY = "llm.base_url http://127.0.0.1:9/v1: connection refused; start the server or choose another backend"


class DiesMidStream(Backend):
    """A server backend whose connection drops after a few tokens."""

    name = "dies-mid-stream"

    def __init__(self) -> None:
        self.calls = 0

    def generate(self, request: Request) -> Iterator[str]:
        self.calls += 1
        yield "DePT decomposes "
        yield "the soft "
        raise GenerationError("llm.timeout: no token from http://127.0.0.1:9/v1 for 120 s")


class Scripted:
    """A registry of shared backend instances the tests script: fake (ready), broken (dies), down (not ready)."""

    def __init__(self) -> None:
        self.fake = FakeBackend()
        self.broken = DiesMidStream()
        self.down = FakeBackend()
        self.registry = Registry()
        self.registry.register(BackendSpec("fake", "scripted", lambda s: self.fake, lambda s: Readiness(True, "ok")))
        self.registry.register(BackendSpec("broken", "dies", lambda s: self.broken, lambda s: Readiness(True, "ok")))
        self.registry.register(BackendSpec("down", "no server", lambda s: self.down,
                                           lambda s: Readiness(False, NOT_READY)))


@pytest.fixture(scope="module")
def scripted() -> Scripted:
    return Scripted()


@pytest.fixture(scope="module")
def server(built_store, embedder, scripted) -> Iterator[str]:
    settings = make_settings(built_store, llm={"backend": "fake"}, ui={"port": 0})
    demo = launch(build_app(build(settings, registry=scripted.registry, embedder=embedder)), settings, block=False)
    try:
        yield demo.local_url
    finally:
        demo.close()


@pytest.fixture
def client(server: str):
    """A new client is a new browser session: its chat history starts empty."""
    from gradio_client import Client

    return Client(server, verbose=False)


def ask(client, question: str, backend: str = "fake", k: int = 5, chat: list | None = None):
    """(chat, panel, question box) after one question; per-session state stays on the server."""
    return client.predict(question, chat or [], backend, k, True, False, api_name="/chat")


def text_of(message: dict) -> str:
    content = message["content"]
    return content if isinstance(content, str) else "".join(c.get("text", "") for c in content)


def markers(markdown: str) -> list[str]:
    return re.findall(r"\[\[(\d+)\]\]\(#src-\1\)", markdown)


# -- over HTTP ---------------------------------------------------------------------------------------------


def test_answer_arrives_with_linked_sources(client, scripted):
    scripted.fake.enqueue("LeTI fine-tunes the model on textual feedback from a Python interpreter [1].")
    chat, panel, box = ask(client, "How does LeTI use error messages from the Python interpreter?")
    answer = text_of(chat[-1])
    assert "LeTI fine-tunes the model" in answer and markers(answer) == ["1"]
    assert "▌" not in answer  # the streamed text was replaced by the checked answer
    assert box == ""  # the question box is cleared
    assert 'id="src-1"' in panel and "LeTI: Learning to Generate from Textual Interactions" in panel
    assert re.search(r'<a href="https://arxiv\.org/search/\?query=LeTI[^"]*" target="_blank"', panel)
    assert "cited as [1]" in panel and "score 0." in panel


def test_markers_match_the_sources_panel(client, scripted):
    scripted.fake.enqueue("| Aspect | LeTI [1] | DePT [2] |\n|---|---|---|\n"
                          "| Method | learns from interpreter feedback [1] | decomposes the soft prompt [2] |\n\n"
                          "LeTI learns from textual feedback [1]. DePT decomposes the soft prompt [2].")
    chat, panel, _ = ask(client, "Compare LeTI and DePT")
    answer = text_of(chat[-1])
    assert sorted(set(markers(answer))) == ["1", "2"]
    for n in markers(answer):
        assert f'id="src-{n}"' in panel
    assert "| Aspect |" in answer and "|---|---|---|" in answer  # the table survives escaping
    assert "LeTI" in panel.split('id="src-1"')[1].split("</li>")[0]
    assert "DePT" in panel.split('id="src-2"')[1].split("</li>")[0]


def test_empty_question_gets_a_clear_message(client):
    chat, panel, _ = ask(client, "   ")
    assert "Please type a question" in text_of(chat[-1])
    assert "Sources appear here" in panel


def test_backend_failure_mid_stream_shows_error_and_keeps_sources(client, scripted):
    chat, panel, _ = ask(client, "What is DePT?", backend="broken")
    message = text_of(chat[-1])
    assert scripted.broken.calls == 1
    assert "The model failed (broken)" in message and "no token from http://127.0.0.1:9/v1" in message
    assert "listed under Sources" in message
    assert "DePT" in panel and 'id="src-1"' in panel and "generation failed" in panel
    scripted.fake.enqueue("DePT decomposes the soft prompt into a shorter prompt and low-rank matrices [1].")
    chat, _, _ = ask(client, "What is DePT?")  # the app keeps serving
    assert "DePT decomposes" in text_of(chat[-1])


def test_a_backend_that_is_not_ready_is_named_and_nothing_switches(client, scripted):
    before = len(scripted.fake.history)
    chat, _, _ = ask(client, "What is DePT?", backend="down")
    message = text_of(chat[-1])
    assert "The backend down is not ready" in message and "connection refused" in message
    assert "not sent to any other backend" in message
    assert scripted.down.history == [] and len(scripted.fake.history) == before


def test_refusal_shows_closest_papers(client, scripted):
    before = len(scripted.fake.history)
    chat, panel, _ = ask(client, "What is the best recipe for sourdough bread?")
    message = text_of(chat[-1])
    assert "do not contain the answer" in message and "Closest papers" in message
    assert 'id="src-1"' in panel and "not cited" in panel
    assert len(scripted.fake.history) == before  # refused before the model was asked


def test_k_sets_the_number_of_sources(client, scripted):
    scripted.fake.enqueue("DePT decomposes the soft prompt [1].")
    _, panel, _ = ask(client, "What is DePT?", k=2)
    assert panel.count('class="pa-source"') == 2


def test_paper_browser(client):
    results, pick = client.predict("decomposed prompt tuning", api_name="/browse")
    assert "DePT" in results and 'href="https://arxiv.org/' in results
    paper_id = pick["value"] if isinstance(pick, dict) else pick
    paper = client.predict(paper_id, api_name="/paper")
    assert "DePT" in paper and "<p>" in paper and len(paper) > 500  # the whole abstract


def test_follow_up_uses_the_session_history(client, scripted):
    scripted.fake.enqueue("DePT decomposes the soft prompt into a shorter prompt and low-rank matrices [1].")
    chat, _, _ = ask(client, "What is DePT?")
    first = text_of(chat[-1])
    scripted.fake.enqueue("How does DePT compare to LoRA?")  # the condensed follow-up
    scripted.fake.enqueue("DePT decomposes the soft prompt [1].")
    chat, panel, _ = ask(client, "and how does that compare to LoRA?", chat=chat)
    assert "Searched for: How does DePT compare to LoRA?" in panel
    condense = scripted.fake.history[-2].messages[1]["content"]
    assert "What is DePT?" in condense and "and how does that compare to LoRA?" in condense
    assert "<sub>" not in condense and "#src-" not in condense  # the page's markup is not history
    # The first answer's [1] now opens its paper; the new answer's [1] points at the panel.
    earlier, latest = text_of(chat[1]), text_of(chat[-1])
    assert "#src-" in first and "#src-" not in earlier and "](https://arxiv.org/" in earlier
    assert markers(latest) == ["1"]


# -- launch rules ------------------------------------------------------------------------------------------


def test_unsafe_bind_is_refused(monkeypatch):
    monkeypatch.delenv("PAPER_ASSISTANT_AUTH", raising=False)
    with pytest.raises(ConfigError, match=r"ui\.host = '0\.0\.0\.0' exposes the app"):
        auth_for(UISettings(host="0.0.0.0"))
    assert auth_for(UISettings(host="0.0.0.0", insecure_no_auth=True)) is None
    monkeypatch.setenv("PAPER_ASSISTANT_AUTH", "ana:s3cret")
    assert auth_for(UISettings(host="0.0.0.0")) == [("ana", "s3cret")]
    assert auth_for(UISettings(host="127.0.0.1")) == [("ana", "s3cret")]


def test_auth_file_errors_name_the_line(tmp_path, monkeypatch):
    monkeypatch.delenv("PAPER_ASSISTANT_AUTH", raising=False)
    f = tmp_path / "users"
    f.write_text("ana:pw\nbroken-line\n")
    with pytest.raises(ConfigError, match=r"users:2: expected user:password"):
        auth_for(UISettings(host="0.0.0.0", auth_file=f))


# -- the renderer ------------------------------------------------------------------------------------------

EVIL = "Tok <script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1)) ![i](http://e/x.png)"


def source(n: int, title: str = "DePT", url: str = "https://arxiv.org/abs/2309.05173") -> Source:
    return Source(n=n, paper_id=f"p{n}", title=title, url=url, score=0.61, text=f"snippet {n} {EVIL}",
                  published="Sep 11, 2023", author_count=2)


def answer(text: str, sources: list[Source], cited: dict[int, bool]) -> Answer:
    citations = [Citation(n, f"p{n}", "t", "u", ok) for n, ok in cited.items()]
    return Answer(question="q", answer=text, refused=False, citations=citations, sources=sources, model="fake",
                  timings=Timings(0.1, 0.2, 1.5))


def test_model_and_corpus_text_cannot_make_markup():
    md = render.answer_markdown(answer(f"{EVIL} [1] [7]", [source(1)], {1: True}))
    assert "<script" not in md and "<img" not in md and "&lt;script&gt;" in md
    assert "\\[x\\](javascript" in md and "!\\[i\\]" in md  # brackets escaped: no link, no image
    assert markers(md) == ["1"] and "[7]" not in md  # a marker with no source is dropped
    panel = render.sources_html([source(1, title=EVIL, url="javascript:alert(1)")], None)
    assert "<script" not in panel and "<img" not in panel and "&lt;script&gt;" in panel
    assert "href=" not in panel  # no safe URL, no link


def test_sources_panel_lists_everything_a_reader_needs():
    sources = [source(1), source(2, "LoRA"), source(3, "Other")]
    panel = render.sources_html(sources, answer("A [1]. B [2].", sources, {1: True, 2: False}))
    first, second, third = (panel.split(f'id="src-{n}"')[1].split("</li>")[0] for n in (1, 2, 3))
    assert 'href="https://arxiv.org/abs/2309.05173"' in first and "Sep 11, 2023 · 2 authors" in first
    assert "score 0.610" in first and "cited as [1]" in first and "snippet 1" in first
    assert "not supported" in second and "not cited" in third


def test_freeze_links_points_old_markers_at_the_papers():
    md = render.answer_markdown(answer("A [1]. B [2].", [source(1), source(2, url="http://x/\"onmouseover")], {}))
    frozen = render.freeze_links(md, {1: "https://arxiv.org/abs/1", 2: "http://x/\"onmouseover"})
    assert "[[1]](https://arxiv.org/abs/1)" in frozen and "#src-" not in frozen
    assert "B \\[2\\]" in frozen  # an unsafe URL is not linked


def test_a_table_is_closed_before_the_text_after_it():
    text = "| Aspect | A [1] |\n|---|---|\n| Goal | x [1] |\nTwo sentences comparing them:\nA does x [1]."
    md = render.answer_markdown(answer(text, [source(1)], {1: True}))
    assert "| Goal | x [[1]](#src-1) |\n\nTwo sentences" in md  # else GFM makes the text a one-cell row


# -- the streamed draft ---------------------------------------------------------------------------------------


def test_the_draft_is_visibly_unchecked_and_cannot_pass_for_an_answer():
    short = render.streaming_markdown("DePT decomposes")
    assert render.DRAFT_LABEL in short and "DePT" not in short  # too short to show: it would read as an answer
    text = f"| Aspect | DePT [1] |\n|---|---|\n| Method | {EVIL} |\nDePT decomposes the soft prompt into low-rank [1]."
    md = render.streaming_markdown(text)
    head, _, body = md.partition("\n\n")
    assert render.DRAFT_LABEL in head
    assert all(line.startswith(">") for line in body.split("\n"))  # every line inside the greyed quote block
    assert "<script" not in md and "&lt;script&gt;" in md
    final = render.answer_markdown(answer("DePT decomposes the soft prompt [1].", [source(1)], {1: True}))
    assert render.DRAFT_LABEL not in final and not final.lstrip().startswith(">")
    assert "#pa-chat blockquote" in render.CSS


def test_a_refused_answer_only_ever_showed_as_a_draft(built_store, embedder, scripted):
    settings = make_settings(built_store, llm={"backend": "fake"})
    pipeline = build(settings, registry=scripted.registry, embedder=embedder).pipeline
    invented = "LeTI was trained on 64 A100 GPUs for 3 days by a team of 12 engineers in 2021 [1]."
    scripted.fake.enqueue(invented)
    asked = len(scripted.fake.history)
    shown = [turn[0][-1]["content"] for turn in chat_turn(
        pipeline, "How does LeTI use error messages from the Python interpreter?", [], [], {}, "fake", 5, True, False)]
    assert len(scripted.fake.history) == asked + 1  # the model wrote it; the check refused it afterwards
    *drafts, final = shown
    assert final.startswith(REFUSAL) and "A100" not in final and render.DRAFT_LABEL not in final
    streamed = [d for d in drafts if "A100" in d]  # the model's text (the preview quotes the sources, not it)
    assert streamed and all(render.DRAFT_LABEL in d for d in streamed)


# -- while it works: status line, preview, stop -----------------------------------------------------------------


def test_the_bubble_says_each_step_shows_the_preview_then_the_checked_answer(built_store, embedder):
    fake = FakeBackend(delay=0.02, first_delay=0.6)
    registry = Registry()
    registry.register(BackendSpec("fake", "scripted", lambda s: fake, lambda s: Readiness(True, "ok")))
    app = build(make_settings(built_store, llm={"backend": "fake"}), registry=registry, embedder=embedder)
    fake.enqueue("LeTI fine-tunes the model on textual feedback such as error messages [1].")
    shown = [turn[0][-1]["content"] for turn in chat_turn(
        app.pipeline, "How does LeTI use error messages from the Python interpreter?", [], [], {}, "fake", 5, True,
        False, tick=0.2)]
    assert shown[0].startswith("<sub>⏳ Searching the papers")
    reading = [s for s in shown if "Reading 5 sources with fake" in s]
    assert len(reading) >= 2  # re-rendered while the model reads (the seconds count)
    assert all(render.PREVIEW_LABEL in s and "[[1]](#src-1)" in s for s in reading)
    assert any("Writing the answer with fake" in s and render.DRAFT_LABEL in s for s in shown)
    final = shown[-1]
    assert "⏳" not in final and render.PREVIEW_LABEL not in final and final.startswith("LeTI fine-tunes")


def test_stop_keeps_the_sources_and_the_preview_and_the_next_turn_works(built_store, embedder):
    import threading

    fake = FakeBackend(delay=0.05)
    registry = Registry()
    registry.register(BackendSpec("fake", "scripted", lambda s: fake, lambda s: Readiness(True, "ok")))
    app = build(make_settings(built_store, llm={"backend": "fake"}), registry=registry, embedder=embedder)
    fake.enqueue(" ".join(["LeTI learns from error messages [1]."] * 80))
    cancel = threading.Event()
    turns = []
    for turn in chat_turn(app.pipeline, "How does LeTI use error messages from the Python interpreter?", [], [], {},
                          "fake", 5, True, False, cancel=cancel, tick=0.2):
        turns.append(turn)
        if "Writing the answer" in turn[0][-1]["content"]:
            cancel.set()
    chat, plain, panel, links, answers = turns[-1]
    assert render.STOPPED_LABEL in chat[-1]["content"] and render.PREVIEW_LABEL in chat[-1]["content"]
    assert "LeTI learns from error messages" not in chat[-1]["content"]  # the unchecked draft is not kept
    assert 'id="src-1"' in panel and links and plain == [] and answers == []
    assert app.gate.running == 0
    fake.enqueue("LeTI fine-tunes the model on textual feedback such as error messages [1].")
    *_, (chat, plain, panel, links, answers) = chat_turn(
        app.pipeline, "How does LeTI use error messages from the Python interpreter?", chat, plain, links, "fake",
        5, True, False)
    assert chat[-1]["content"].startswith("LeTI fine-tunes") and len(answers) == 1


def test_a_question_behind_another_says_how_many_are_ahead(built_store, embedder):
    fake = FakeBackend()
    registry = Registry()
    registry.register(BackendSpec("fake", "scripted", lambda s: fake, lambda s: Readiness(True, "ok")))
    app = build(make_settings(built_store, llm={"backend": "fake"}), registry=registry, embedder=embedder)
    holder = app.gate.join()
    turns = chat_turn(app.pipeline, "How does LeTI use error messages from the Python interpreter?", [], [], {},
                      "fake", 5, True, False, tick=0.2)
    waiting = next(t for t in turns if "Waiting for the model" in t[0][-1]["content"])
    assert "1 question ahead of yours" in waiting[0][-1]["content"]
    holder.release()
    *_, last = turns
    assert last[4] and not last[4][0].refused


def test_the_model_line_says_loading_ready_or_why_not():
    from assistant.llms.timing import WarmState

    assert "is loading (3 s, about 9 s)" in render.model_status(WarmState("loading", "qwen", 3.2, 9.0))
    assert "is loading (3 s)" in render.model_status(WarmState("loading", "qwen", 3.2, None))
    assert "ready (loaded in 8.5 s)" in render.model_status(WarmState("ready", "qwen", 8.5))
    failed = render.model_status(WarmState("failed", "qwen", detail="<b>bad</b> [x](javascript:1)"))
    assert "did not load" in failed and "<b>" not in failed and "\\[x\\]" in failed
    assert render.model_status(WarmState("idle", "qwen")) == ""
