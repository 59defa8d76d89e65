"""The API shares the page's rules: the same login (HTTP Basic or a Bearer `user:password`), the same refusal of a
non-loopback bind without one, and one queue: concurrent generations wait their turn (ui.concurrency), a full
queue is a 429, and one failing request does not stop the others."""

from __future__ import annotations

import base64
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from assistant.answer.gate import Busy, Gate
from assistant.api.auth import API_PATHS, owned
from assistant.config import ConfigError
from tests.api.conftest import start

QUESTION = "How does LeTI use error messages from the Python interpreter?"


def ask(url: str, model: str = "counting", **kw) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": QUESTION}], **kw}
    return httpx.post(url + "v1/chat/completions", json=body, timeout=120)


def test_concurrent_requests_queue_and_one_failure_does_not_stop_the_others(running):
    counting = running.backends.counting
    counting.peak = 0
    models = ["counting", "broken", "counting", "counting", "broken", "counting"]
    with ThreadPoolExecutor(len(models)) as pool:
        responses = list(pool.map(lambda m: ask(running.url, m), models))
    assert [r.status_code for r in responses] == [200 if m == "counting" else 502 for m in models]
    assert counting.peak == 1  # ui.concurrency = 1: the generations ran one after another
    assert all("[1]" in r.json()["choices"][0]["message"]["content"] for r in responses if r.status_code == 200)
    assert running.app.gate.running == 0 and running.app.gate.waiting == 0  # every slot was given back


def test_the_page_and_the_api_share_one_queue(running):
    from gradio_client import Client

    counting = running.backends.counting
    counting.peak = 0
    page = Client(running.url, verbose=False)
    jobs = [page.submit(QUESTION, [], "counting", 5, True, False, api_name="/chat") for _ in range(2)]
    with ThreadPoolExecutor(3) as pool:
        codes = [r.status_code for r in pool.map(lambda _: ask(running.url), range(3))]
    answers = [job.result(timeout=120) for job in jobs]
    assert codes == [200, 200, 200] and all("#src-1" in str(chat[-1]) for chat, *_ in answers)
    assert counting.peak == 1  # never a page generation beside an API one


def test_a_stream_closed_early_gives_its_slot_back(running):
    client = openai.OpenAI(base_url=running.url + "v1", api_key="x", max_retries=0)
    stream = client.chat.completions.create(model="counting", messages=[{"role": "user", "content": QUESTION}],
                                            stream=True)
    next(iter(stream))
    assert running.app.gate.running == 1  # the first chunk comes once the request holds its slot
    stream.close()
    deadline = time.monotonic() + 10
    while running.app.gate.running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running.app.gate.running == 0
    assert ask(running.url).status_code == 200


def test_a_full_queue_is_a_429(built_store, embedder):
    run, served = start(built_store, embedder, concurrency=1, max_queue=1)
    try:
        with ThreadPoolExecutor(4) as pool:
            codes = sorted(r.status_code for r in pool.map(lambda _: ask(run.url), range(4)))
        assert 200 in codes and 429 in codes and set(codes) <= {200, 429}
    finally:
        served.close()


def test_the_gate_on_its_own():
    gate = Gate(1, 0)
    with gate.slot(), pytest.raises(Busy, match="busy"), gate.slot():
        pass
    with gate.slot():  # released after the Busy
        assert gate.running == 1


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
def test_a_non_loopback_bind_without_a_login_is_refused(built_store, embedder, host, monkeypatch):
    monkeypatch.delenv("PAPER_ASSISTANT_AUTH", raising=False)
    with pytest.raises(ConfigError, match="exposes the app beyond this machine"):
        start(built_store, embedder, host=host)


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture(scope="module")
def guarded(built_store, embedder):
    import os

    os.environ["PAPER_ASSISTANT_AUTH"] = "ana:s3cret"
    try:
        run, served = start(built_store, embedder)
    finally:
        del os.environ["PAPER_ASSISTANT_AUTH"]
    try:
        yield run
    finally:
        served.close()


def test_the_api_takes_the_pages_login(guarded):
    url = guarded.url
    good = openai.OpenAI(base_url=url + "v1", api_key="ana:s3cret", max_retries=0)
    assert "[1]" in good.chat.completions.create(
        model="fake", messages=[{"role": "user", "content": QUESTION}]).choices[0].message.content
    for key in ("ana:wrong", "s3cret", "bob:s3cret"):
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=url + "v1", api_key=key, max_retries=0).models.list()
    assert httpx.get(url + "v1/models", headers=basic("ana", "s3cret")).status_code == 200
    for path in ("v1/models", "api/search", "mcp", "docs", "openapi.json"):
        r = httpx.request("POST" if path in ("api/search", "mcp") else "GET", url + path, json={"query": "LeTI"})
        assert r.status_code == 401, path
        assert r.headers["www-authenticate"].startswith("Basic") and r.json()["error"]["type"] == "authentication_error"
    assert httpx.post(url + "api/search", json={"query": "LeTI"}, headers=basic("ana", "s3cret")).status_code == 200


def test_the_page_keeps_gradios_login(guarded):
    from gradio_client import Client

    with pytest.raises(ValueError):
        Client(guarded.url, verbose=False)
    assert Client(guarded.url, auth=("ana", "s3cret"), verbose=False).predict("LeTI", api_name="/browse")


def test_every_api_route_is_under_a_guarded_path(running):
    from assistant.api.http import create_api

    api = create_api(running.app)
    paths = [r.path for r in api.routes]
    assert {"/v1/chat/completions", "/mcp", "/docs"} <= set(paths)
    assert all(owned(p) for p in paths), [p for p in paths if not owned(p)]
    assert not owned("/") and not owned("/gradio_api/queue/join") and not owned("/apiary")
    assert "/api" in API_PATHS


def test_a_port_in_use_is_one_error_naming_the_setting(built_store, embedder):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=rf"ui.port = {port}: cannot serve there"):
            start(built_store, embedder, port=port)
