"""The HTTP routes: OpenAI's `POST /v1/chat/completions` (streamed or not) and `GET /v1/models`, and
`POST /api/search`, `POST /api/ask` in the shapes of `search --json` and `ask --json`; the MCP server over
streamable HTTP at `/mcp`; OpenAPI docs at `/docs`. `create_api(app, credentials)` returns the FastAPI app;
`ui.serve` mounts the page beside it and runs it.

Errors are JSON `{"error": {"message", "type", "param", "code"}}` (OpenAI's shape): 400 names the bad field, 401
no login, 404 an unknown model (with the list), 429 the queue is full, 502 the model failed, 503 it is not ready.
A chat answer's content is the checked answer with its [n]; its citations and sources ride beside it. Streamed,
the preview comes first as `delta.preview`, then `status` chunks (waiting in line, the model reading its sources
with an estimate), the draft as `delta.draft`, then the checked answer; a client that hangs up stops the model.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Generator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.lowlevel
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from assistant.answer.gate import Busy
from assistant.answer.pipeline import (
    Event,
    Generating,
    Preview,
    QuestionError,
    SourcesFound,
    Stopped,
    TextDelta,
    Tick,
    Waiting,
)
from assistant.api.auth import RequireLogin
from assistant.api.schemas import AskBody, ChatBody, RequestError, SearchBody
from assistant.api.service import Service, UnknownModel
from assistant.app import App
from assistant.llms.base import BackendError, GenerationError
from assistant.search.store import StoreError
from assistant.types import Answer

_END = object()  # what next() returns when a stream is done


def error_body(message: str, *, type_: str = "invalid_request_error", param: str | None = None,
               code: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code, **extra}}


def failure(e: Exception, question_field: str) -> JSONResponse:
    """The response for an error a run can raise; anything else is a bug and propagates (a 500)."""
    if isinstance(e, RequestError):
        return JSONResponse(error_body(str(e), param=e.param), status_code=e.status)
    if isinstance(e, UnknownModel):
        return JSONResponse(error_body(str(e), param="model", code="model_not_found", models=e.known), 404)
    if isinstance(e, QuestionError):
        return JSONResponse(error_body(str(e), param=question_field), 400)
    if isinstance(e, Busy):
        return JSONResponse(error_body(str(e), type_="rate_limit_error", code="busy"), 429,
                            headers={"Retry-After": "5"})
    if isinstance(e, BackendError):
        return JSONResponse(error_body(str(e), type_="server_error", param="model", code="backend_unavailable"),
                            503)
    if isinstance(e, GenerationError):
        return JSONResponse(error_body(str(e), type_="server_error", code="generation_failed"), 502)
    if isinstance(e, StoreError):  # a collection that does not exist (the message lists those that do)
        return JSONResponse(error_body(str(e), param="collection", code="collection_not_found"), 404)
    raise e


KNOWN = (RequestError, UnknownModel, QuestionError, Busy, BackendError, GenerationError, StoreError)


def extras(answer: Answer) -> dict[str, Any]:
    """What a chat response carries beside the message, so that nothing of `ask --json` is lost."""
    data = answer.to_dict()
    return {"citations": data["citations"], "sources": data["sources"], "refused": answer.refused,
            "timings": data["timings"], "standalone_question": answer.standalone_question,
            "collection": answer.collection, "filters": data["filters"]}


def completion(answer: Answer, cid: str, created: int) -> dict[str, Any]:
    return {"id": cid, "object": "chat.completion", "created": created, "model": answer.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.answer},
                         "finish_reason": "stop", "logprobs": None}],
            "usage": None, **extras(answer)}


def chunk(cid: str, created: int, model: str, delta: dict[str, Any], finish: str | None = None,
          **extra: Any) -> str:
    data = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def status(event: Waiting | Generating) -> dict[str, Any]:
    """What the request is doing, as a stream chunk's `status` field."""
    if isinstance(event, Waiting):
        return {"step": "waiting", "ahead": event.ahead}
    return {"step": "reading", "model": event.model, "sources": event.sources, "loading": event.loading,
            "estimate_s": None if event.estimate is None else round(event.estimate, 1)}


def next_event(events: Iterator[Event | Tick]) -> Event | object:
    """The next event that is not a heartbeat, or _END."""
    while isinstance(event := next(events, _END), Tick):
        pass
    return event


def sse(first: Event, events: Iterator[Event | Tick], model: str) -> AsyncIterator[str]:
    """OpenAI chunks: the sources first (with the role), the preview as `delta.preview`, `status` chunks while
    the request waits and the model reads, the unchecked draft as `delta.draft` while it is generated, then the
    checked answer as `delta.content`, then citations and sources with finish_reason."""
    cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def render(event: Event | Tick) -> list[str]:
        if isinstance(event, Tick):  # an SSE comment (clients skip it): writing it is how a hang-up is noticed
            return [": working\n\n"]
        if isinstance(event, SourcesFound):
            return [chunk(cid, created, model, {"role": "assistant", "content": ""},
                          sources=[s.to_dict() for s in event.sources])]
        if isinstance(event, Preview):
            return [chunk(cid, created, model, {"preview": event.text})]
        if isinstance(event, Waiting | Generating):
            return [chunk(cid, created, model, {}, status=status(event))]
        if isinstance(event, TextDelta):
            return [chunk(cid, created, model, {"draft": event.text})] if event.text else []
        if isinstance(event, Stopped):
            return [chunk(cid, created, model, {}, "stop", stopped=True), "data: [DONE]\n\n"]
        answer = event.answer
        return [chunk(cid, created, answer.model, {"content": answer.answer}),
                chunk(cid, created, answer.model, {}, "stop", **extras(answer)), "data: [DONE]\n\n"]

    async def step() -> Event | Tick | object:
        # At most half a second (the run's heartbeat): a client that hangs up is noticed within it, and `close`
        # below cancels the generation and frees the queue slot.
        with anyio.CancelScope(shield=True):
            return await run_in_threadpool(next, events, _END)

    async def run() -> AsyncIterator[str]:
        try:
            for text in render(first):
                yield text
            while (event := await step()) is not _END:
                # A point where a hang-up's cancellation lands: the step is shielded, and the server's send to a
                # closed connection returns without suspending, so nothing else would let it in.
                await anyio.lowlevel.checkpoint()
                for text in render(event):  # type: ignore[arg-type]
                    yield text
        except KNOWN as e:  # after the 200: OpenAI's way is an error object in the stream
            status = failure(e, "messages")
            yield f"data: {bytes(status.body).decode()}\n\n"
        finally:
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(events.close)  # frees the queue slot, also when the client went away

    return run()


def create_api(app: App, credentials: list[tuple[str, str]] | None = None, *, mcp_http: bool = True) -> FastAPI:
    """The API over `app`; `credentials` (from `ui.serve.auth_for`) guard every API path when given."""
    service = Service(app)
    settings = app.settings
    mcp_app = None
    if mcp_http:
        from assistant.api.mcp_server import build_mcp

        mcp_server = build_mcp(service)
        mcp_app = mcp_server.streamable_http_app(streamable_http_path="/mcp", stateless_http=True,
                                                 host=settings.ui.host)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if mcp_app is None:
            yield
            return
        async with mcp_server.session_manager.run():
            yield

    api = FastAPI(title="Paper Assistant API", version="1", lifespan=lifespan,
                  description="Answers from the indexed paper abstracts, with checked [n] citations. "
                  "See docs/api.md.")

    @api.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts, first = [], None
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p != "body"]
            key = ".".join(loc) or "body"
            first = first or key
            msg = "unknown field" if err.get("type") == "extra_forbidden" else err.get("msg", "invalid")
            parts.append(f"{key}: {msg}")
        return JSONResponse(error_body("; ".join(parts), param=first), 400)

    @api.exception_handler(RequestError)
    async def bad_request(_: Request, exc: RequestError) -> JSONResponse:
        return failure(exc, "")

    @api.get("/v1/models", tags=["openai"])
    async def models() -> dict[str, Any]:
        """The backends a request may name in `model`."""
        return {"object": "list", "data": [{"id": name, "object": "model", "created": 0,
                                            "owned_by": "paper-assistant"} for name in service.listed_models()]}

    @api.post("/v1/chat/completions", tags=["openai"], response_model=None)
    async def chat_completions(body: ChatBody) -> JSONResponse | StreamingResponse:
        """OpenAI's chat format. The last user message is the question; earlier user and assistant messages are
        the history; system messages are ignored. Extension fields: `k`, `hybrid`, `rerank`."""
        question, history = body.conversation()
        options = body.options(settings, service.default_model)
        question_field = f"messages.{len(body.messages) - 1}.content"
        if not body.stream:
            try:
                answer = await run_in_threadpool(service.ask, question, history, options)
            except KNOWN as e:
                return failure(e, question_field)
            return JSONResponse(completion(answer, f"chatcmpl-{uuid.uuid4().hex}", int(time.time())))
        events: Generator[Event | Tick, None, None] | None = None
        try:  # joins the queue and retrieves, so that a full queue or a refusal is a status code, not a broken stream
            events = iter(service.stream(question, history, options))  # type: ignore[assignment]
            first = await run_in_threadpool(next_event, events)
        except KNOWN as e:
            if events is not None:
                await run_in_threadpool(events.close)
            return failure(e, question_field)
        return StreamingResponse(sse(first, events, options.backend), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @api.post("/api/search", tags=["paper-assistant"], response_model=None)
    async def search(body: SearchBody) -> dict[str, Any] | JSONResponse:
        """Retrieval only, the shape of `search --json`."""
        options = body.options(settings, service.default_model)
        try:
            return await run_in_threadpool(service.search, body.query, options)
        except KNOWN as e:
            return failure(e, "query")

    @api.post("/api/ask", tags=["paper-assistant"], response_model=None)
    async def ask(body: AskBody) -> dict[str, Any] | JSONResponse:
        """One checked answer, the shape of `ask --json`."""
        options = body.options(settings, service.default_model)
        try:
            answer = await run_in_threadpool(service.ask, body.question, body.messages(), options)
        except KNOWN as e:
            return failure(e, "question")
        return answer.to_dict()

    if mcp_app is not None:
        api.router.routes.extend(mcp_app.routes)
    if credentials:
        api.add_middleware(RequireLogin, pairs=credentials)
    return api
