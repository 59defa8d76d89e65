"""The chat UI over real HTTP: launched in-process on a free loopback port, driven with gradio_client."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from assistant.config import ConfigError, UISettings
from assistant.llms.base import GenerationError, Readiness
from assistant.llms.fake import FakeBackend
from assistant.llms.registry import BackendSpec, Registry
from assistant.retrieval import Retriever
from assistant.serve_cli import auth_for, launch
from assistant.store import PaperStore
from assistant.ui import build_app
from tests.conftest import make_settings


class Scripted:
    """A registry whose `fake` and `broken` backends are shared instances the test can script."""

    def __init__(self) -> None:
        self.fake = FakeBackend()
        self.broken = FakeBackend()
        self.registry = Registry()
        self.registry.register(BackendSpec("fake", "scripted", lambda s: self.fake, lambda s: Readiness(True, "ok")))
        self.registry.register(BackendSpec("broken", "fails", lambda s: self.broken, lambda s: Readiness(True, "ok")))


@pytest.fixture(scope="module")
def scripted() -> Scripted:
    return Scripted()


@pytest.fixture(scope="module")
def server(built_store, embedder, scripted) -> Iterator[str]:
    settings = make_settings(built_store, llm={"backend": "fake"}, ui={"port": 0})
    retriever = Retriever(settings, PaperStore(settings), embedder)
    demo = launch(build_app(retriever, settings, scripted.registry), settings, block=False)
    try:
        yield demo.local_url
    finally:
        demo.close()


@pytest.fixture
def client(server: str):
    """A new client is a new browser session: its chat history starts empty."""
    from gradio_client import Client

    return Client(server, verbose=False)


def ask(client, question: str, backend: str = "fake", k: int = 5):
    """(chat, panel, question box) after one question; per-session state stays on the server."""
    return client.predict(question, [], backend, k, True, False, api_name="/chat")


def test_answer_arrives_with_linked_sources(client, scripted):
    scripted.fake.enqueue("LeTI fine-tunes the model on textual feedback from a Python interpreter [1].")
    chat, panel, box = ask(client, "How does LeTI use error messages from the Python interpreter?")
    answer = chat[-1]["content"]
    text = answer if isinstance(answer, str) else json.dumps(answer)
    assert "[[1]](#src-1)" in text or 'href="#src-1"' in text
    assert box == ""  # the question box is cleared
    assert 'id="src-1"' in panel and "LeTI: Learning to Generate from Textual Interactions" in panel
    assert re.search(r'<a href="https://arxiv\.org/search/\?query=LeTI[^"]*" target="_blank"', panel)
    assert "cited" in panel and "score" in panel


def test_markers_match_the_sources_panel(client, scripted):
    scripted.fake.enqueue("LeTI learns from textual feedback [1]. DePT decomposes the soft prompt [2].")
    chat, panel, _ = ask(client, "Compare LeTI and DePT")
    text = str(chat[-1]["content"])
    for n in re.findall(r"\(#src-(\d+)\)", text):
        assert f'id="src-{n}"' in panel


def test_empty_question_gets_a_clear_message(client):
    chat, _, _ = ask(client, "   ")
    assert "Please type a question" in str(chat[-1]["content"])


def test_backend_failure_shows_error_and_keeps_sources(client, scripted):
    scripted.broken.enqueue(GenerationError("llm.base_url http://127.0.0.1:9: connection reset"))
    chat, panel, _ = ask(client, "What is DePT?", backend="broken")
    assert "The model failed" in str(chat[-1]["content"]) and "connection reset" in str(chat[-1]["content"])
    assert "DePT" in panel and "generation failed" in panel
    scripted.fake.enqueue("DePT decomposes the soft prompt into a shorter prompt and low-rank matrices [1].")
    chat, _, _ = ask(client, "What is DePT?")  # the app keeps serving
    assert "DePT decomposes" in str(chat[-1]["content"])


def test_refusal_shows_closest_papers(client):
    chat, panel, _ = ask(client, "What is the best recipe for sourdough bread?")
    assert "do not contain the answer" in str(chat[-1]["content"])
    assert 'id="src-1"' in panel


def test_paper_browser(client):
    results, pick = client.predict("decomposed prompt tuning", api_name="/browse")
    assert "DePT" in results
    paper = client.predict(pick, api_name="/paper") if isinstance(pick, str) else None
    assert paper is None or "DePT" in paper


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


def test_follow_up_uses_the_session_history(client, scripted):
    scripted.fake.enqueue("DePT decomposes the soft prompt into a shorter prompt and low-rank matrices [1].")
    ask(client, "What is DePT?")
    scripted.fake.enqueue("How does DePT compare to LoRA?")  # the condensed follow-up
    scripted.fake.enqueue("DePT decomposes the soft prompt [1].")
    _chat, panel, _ = ask(client, "and how does that compare to LoRA?")
    assert "Searched for: How does DePT compare to LoRA?" in panel
    condense = scripted.fake.history[-2].messages[1]["content"]
    assert "What is DePT?" in condense and "and how does that compare to LoRA?" in condense
