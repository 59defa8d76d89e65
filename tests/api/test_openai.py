"""The OpenAI-compatible endpoint and the REST routes over real HTTP, with the official `openai` client (and
httpx for what the client does not expose): answers carry their citations and sources, streamed or not, errors
name the bad field, and the page is still served beside the API."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import httpx
import openai
import pytest

from assistant.types import REFUSAL
from tests.support import ROOT

QUESTION = "How does LeTI use error messages from the Python interpreter?"


@pytest.fixture
def client(running) -> openai.OpenAI:
    return openai.OpenAI(base_url=running.url + "v1", api_key="no-login-on-loopback", max_retries=0, timeout=60)


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_a_question_gets_the_checked_answer_with_its_citations_and_sources(running, client):
    resp = client.chat.completions.create(model="fake", messages=user(QUESTION))
    expected = running.app.pipeline.ask(QUESTION, [], running.app.pipeline.options(backend="fake"))
    assert resp.object == "chat.completion" and resp.model == "fake"
    assert resp.choices[0].message.role == "assistant" and resp.choices[0].finish_reason == "stop"
    assert resp.choices[0].message.content == expected.answer and "[1]" in expected.answer
    extra = resp.model_extra
    assert extra["refused"] is False
    assert [c["n"] for c in extra["citations"]] == [c.n for c in expected.citations] == [1]
    assert extra["citations"][0]["supported"] is True
    assert [s["paper_id"] for s in extra["sources"]] == [s.paper_id for s in expected.sources]
    assert "LeTI" in extra["sources"][0]["title"]
    assert extra["citations"][0]["url"] == extra["sources"][0]["url"]


def test_streaming_ends_with_the_same_checked_answer_and_carries_citations(running, client):
    plain = client.chat.completions.create(model="fake", messages=user(QUESTION))
    chunks = list(client.chat.completions.create(model="fake", messages=user(QUESTION), stream=True))
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert content == plain.choices[0].message.content
    drafts = "".join((c.choices[0].delta.model_extra or {}).get("draft", "") for c in chunks)
    assert drafts.strip() and "[1]" in drafts  # the unchecked text, as it was generated
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[0].model_extra["sources"]
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"] == plain.model_extra["citations"]
    assert last.model_extra["sources"] == plain.model_extra["sources"]
    assert len({c.id for c in chunks}) == 1


def test_a_question_the_papers_cannot_answer_is_refused_through_the_api(client):
    resp = client.chat.completions.create(model="fake", messages=user("What is the boiling point of tungsten?"))
    assert resp.model_extra["refused"] is True and resp.choices[0].message.content.startswith(REFUSAL)
    assert resp.model_extra["citations"] == []


def test_history_comes_from_the_messages(running, client):
    running.backends.fake.enqueue("What does LeTI's interpreter feedback improve?")  # the condensed question
    resp = client.chat.completions.create(model="fake", messages=[
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": "LeTI fine-tunes on error messages [1]."},
        {"role": "user", "content": [{"type": "text", "text": "What does it improve?"}]},
    ])
    assert resp.model_extra["standalone_question"] == "What does LeTI's interpreter feedback improve?"
    condense = next(r for r in reversed(running.backends.fake.history) if r.question == "What does it improve?")
    prompt = "\n".join(m["content"] for m in condense.messages)
    assert "LeTI fine-tunes on error messages" in prompt and "You are helpful" not in prompt


def test_models_lists_the_backends_a_request_may_name(running, client):
    ids = [m.id for m in client.models.list()]
    assert ids == ["fake", "broken", "counting"]  # the default first; a hidden backend is not offered
    hidden = client.chat.completions.create(model="hidden", messages=user(QUESTION))  # but may be named
    assert hidden.model == "hidden" and "[1]" in hidden.choices[0].message.content


def test_an_unknown_model_is_a_404_listing_the_models(client):
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-9", messages=user(QUESTION))
    error = info.value.body
    assert error["param"] == "model" and "gpt-9" in error["message"]
    assert error["models"] == ["fake", "broken", "counting"]


@pytest.mark.parametrize(("extra", "param"), [({"k": 500}, "k"), ({"hybrid": "sometimes"}, "hybrid"),
                                              ({"n": 2}, "n"), ({"tools": []}, "tools")])
def test_a_bad_field_is_a_400_naming_it(client, extra, param):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="fake", messages=user(QUESTION), extra_body=extra)
    assert info.value.body["param"] == param and param in info.value.body["message"]


@pytest.mark.parametrize(("messages", "param"), [
    ([{"role": "assistant", "content": "hi"}], "messages.0.role"),
    ([{"role": "user", "content": "   "}], "messages.0.content"),
    ([{"role": "wizard", "content": "hi"}], "messages.0.role"),
    ([{"role": "user", "content": "x" * 5000}], "messages.0.content"),
])
def test_a_bad_message_is_a_400_naming_it(client, messages, param):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="fake", messages=messages)
    assert info.value.body["param"] == param


def test_a_failing_generation_is_a_502_and_in_a_stream_an_error_event(client):
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="broken", messages=user(QUESTION))
    assert info.value.status_code == 502 and "llm.timeout" in info.value.body["message"]
    with pytest.raises(openai.APIError, match=r"llm\.timeout"):
        list(client.chat.completions.create(model="broken", messages=user(QUESTION), stream=True))


def cli_json(*args: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "assistant.cli", *args, "--json"], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_search_has_the_shape_of_search_json(running, built_store):
    got = httpx.post(running.url + "api/search", json={"query": "catastrophic forgetting", "k": 4}).json()
    assert got == cli_json("search", "catastrophic forgetting", "--k", "4", "--store", str(built_store))
    assert len(got["results"]) == 4 and [r["rank"] for r in got["results"]] == [1, 2, 3, 4]


def test_collection_and_filters_travel_through_the_api(running, client):
    body = {"query": "language models", "k": 5, "filters": {"year_from": 2024}}
    got = httpx.post(running.url + "api/search", json=body).json()
    years = {p.year for p in running.app.store.first_chunks([r["paper_id"] for r in got["results"]]).values()}
    assert got["filters"] == "2024–" and got["collection"] == "default" and got["results"] and years <= {2024, 2025}
    assert all(r["year"] in (2024, 2025) for r in got["results"])
    missing = httpx.post(running.url + "api/search", json={"query": "x", "collection": "nowhere"})
    assert missing.status_code == 404 and missing.json()["error"]["param"] == "collection"
    bad = httpx.post(running.url + "api/search", json={"query": "x", "filters": {"year_from": 2024, "year_to": 2020}})
    assert bad.status_code == 400 and "after" in bad.json()["error"]["message"]
    answer = client.chat.completions.create(model="fake", messages=[
        {"role": "user", "content": "Which papers since 2024 study instruction tuning?"}])
    assert answer.model_extra["filters"] == "2024–" and answer.model_extra["collection"] == "default"


def test_ask_has_the_shape_of_ask_json(running):
    got = httpx.post(running.url + "api/ask", json={"question": QUESTION, "model": "fake"}, timeout=60).json()
    expected = running.app.pipeline.ask(QUESTION, [], running.app.pipeline.options(backend="fake")).to_dict()
    assert got.keys() == expected.keys()
    assert {k: v for k, v in got.items() if k != "timings"} == {k: v for k, v in expected.items() if k != "timings"}


def test_rest_errors_name_the_field(running):
    r = httpx.post(running.url + "api/search", json={"query": " "})
    assert r.status_code == 400 and r.json()["error"]["param"] == "query"
    r = httpx.post(running.url + "api/ask", json={"question": QUESTION, "colection": "x"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "colection"
    r = httpx.post(running.url + "api/ask", json={"question": QUESTION, "model": "nope"})
    assert r.status_code == 404 and r.json()["error"]["models"] == ["fake", "broken", "counting"]
    r = httpx.post(running.url + "api/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["message"]


def test_openapi_docs_and_the_page_are_served_beside_the_api(running):
    docs = httpx.get(running.url + "docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    paths = httpx.get(running.url + "openapi.json").json()["paths"]
    assert {"/v1/chat/completions", "/v1/models", "/api/search", "/api/ask"} <= set(paths)
    page = httpx.get(running.url)
    assert page.status_code == 200 and "Paper Assistant" in page.text
    from gradio_client import Client

    result = Client(running.url, verbose=False).predict("LeTI", api_name="/browse")
    assert "LeTI" in result[0]


def test_the_example_script_prints_the_answer_and_its_cited_papers(running):
    script = ROOT / "docs" / "examples" / "openai_ask.py"
    for stream in ([], ["--stream"]):
        proc = subprocess.run([sys.executable, str(script), "--base-url", running.url + "v1", *stream, QUESTION],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        answer, _, cited = proc.stdout.partition("\nCited papers:\n")
        assert "[1]" in answer and "LeTI" in cited.splitlines()[0] and cited.splitlines()[1].strip().startswith("http")


def stream_kinds(chunks: list) -> list[str]:
    """Each chunk as what it carries: sources, preview, a status step, draft, content or finish."""
    kinds = []
    for c in chunks:
        delta, extra = c.choices[0].delta, c.model_extra or {}
        if extra.get("sources") and not c.choices[0].finish_reason:
            kinds.append("sources")
        elif "preview" in (delta.model_extra or {}):
            kinds.append("preview")
        elif extra.get("status"):
            kinds.append(extra["status"]["step"])
        elif "draft" in (delta.model_extra or {}):
            kinds.append("draft")
        elif delta.content:
            kinds.append("content")
        elif c.choices[0].finish_reason:
            kinds.append("finish")
    return kinds


def test_a_stream_sends_the_preview_and_the_models_step_before_the_draft(running, client):
    chunks = list(client.chat.completions.create(model="slow", messages=user(QUESTION), stream=True))
    kinds = stream_kinds(chunks)
    assert kinds[:3] == ["sources", "preview", "reading"] and kinds[-2:] == ["content", "finish"]
    assert "draft" in kinds and kinds.index("reading") < kinds.index("draft") < kinds.index("content")
    preview = next(c.choices[0].delta.model_extra["preview"] for c in chunks
                   if "preview" in (c.choices[0].delta.model_extra or {}))
    assert re.search(r"\[[1-5]\]", preview) and "LeTI" in preview
    status = next(c.model_extra["status"] for c in chunks if (c.model_extra or {}).get("status"))
    assert status["model"] == "slow" and status["sources"] == 5 and status["loading"] is False


def test_a_client_hanging_up_while_the_model_reads_stops_the_model(running, client):
    slow = running.backends.slow
    slow.first_delay = 30  # the model would read for 30 s
    try:
        stream = client.chat.completions.create(model="slow", messages=user(QUESTION), stream=True)
        for chunk in stream:
            if (chunk.model_extra or {}).get("status", {}).get("step") == "reading":
                break
        time.sleep(0.3)
        hung_up = time.monotonic()
        stream.close()
        while running.app.gate.running and time.monotonic() - hung_up < 20:
            time.sleep(0.05)
        took = time.monotonic() - hung_up
        assert running.app.gate.running == 0 and took < 3, took
        assert slow.history[-1].cancelled
    finally:
        slow.first_delay = 0.3
    answer = client.chat.completions.create(model="slow", messages=user(QUESTION))  # the model is free again
    assert "[1]" in answer.choices[0].message.content
