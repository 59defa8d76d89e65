"""Backends that talk to a model server: any OpenAI-compatible server (vLLM, llama.cpp server, LM Studio, TGI)
and Ollama, through llama-index's LLM integrations.

No default URL points anywhere but the user's own machine: `openai` needs `llm.base_url` and never falls back
to a hosted API. Connection problems become GenerationError/BackendError naming the setting and the URL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from assistant.config import LLMSettings
from assistant.llms.base import Backend, BackendError, GenerationError, Readiness, Request

OLLAMA_DEFAULT_URL = "http://127.0.0.1:11434"
NO_KEY = "sk-no-key-required"  # local servers ignore the key, but the client insists on one


def _chat_messages(request: Request) -> list[Any]:
    from llama_index.core.llms import ChatMessage

    return [ChatMessage(role=m["role"], content=m["content"]) for m in request.messages]


def _stream(llm: Any, request: Request, where: str, **options: Any) -> Iterator[str]:
    chunks, finished = 0, False
    try:
        for chunk in llm.stream_chat(_chat_messages(request), **options):
            if request.cancelled:
                return  # leaving the loop closes the response: the server sees the hang-up and stops
            chunks += 1
            choices = getattr(chunk.raw, "choices", None)  # OpenAI chunks; the last one carries finish_reason
            finished = finished or choices is None or any(getattr(c, "finish_reason", None) for c in choices)
            if chunk.delta:
                yield chunk.delta
    except GenerationError:
        raise
    except Exception as e:  # the clients raise many types (httpx, openai, ollama); all mean the same here
        kind = type(e).__name__
        if "Timeout" in kind:
            raise GenerationError(f"{where}: the model server failed: no reply within llm.timeout ({kind}); "
                                  "check the server or raise llm.timeout") from e
        raise GenerationError(f"{where}: the model server failed ({kind}: {e})") from e
    if not chunks or not finished:
        # A close-delimited body that stops early ends "cleanly": without this the answer would be cut silently.
        raise GenerationError(f"{where}: the model server closed the stream before the answer was finished")


def _require(settings: LLMSettings, key: str, example: str) -> str:
    value = getattr(settings, key)
    if not value:
        raise BackendError(f"llm.{key}: the {settings.backend} backend needs it (for example {example})")
    return str(value)


class OpenAICompatibleBackend(Backend):
    def __init__(self, settings: LLMSettings) -> None:
        from llama_index.llms.openai_like import OpenAILike

        base_url = _require(settings, "base_url", 'llm.base_url = "http://127.0.0.1:8000/v1"')
        model = _require(settings, "model", 'llm.model = "Qwen2.5-7B-Instruct"')
        api_key = NO_KEY
        if settings.api_key_env:
            api_key = os.environ.get(settings.api_key_env, "")
            if not api_key:
                raise BackendError(f"llm.api_key_env: the environment variable {settings.api_key_env} is not set")
        self.name = f"openai:{model}"
        self.where = f"llm.base_url {base_url}"
        self._llm = OpenAILike(
            model=model, api_base=base_url, api_key=api_key, is_chat_model=True, max_retries=0,
            timeout=settings.timeout, temperature=settings.temperature, context_window=settings.n_ctx,
            max_tokens=None,  # None, so each request's own max_tokens (a call option) reaches the server
        )

    def generate(self, request: Request) -> Iterator[str]:
        # Per-call options rather than mutating the shared client: the UI may generate from several threads.
        options: dict[str, Any] = {"temperature": request.temperature, "max_tokens": request.max_tokens}
        if request.stop:
            options["stop"] = request.stop
        yield from _stream(self._llm, request, self.where, **options)


class OllamaBackend(Backend):
    def __init__(self, settings: LLMSettings) -> None:
        from llama_index.llms.ollama import Ollama

        base_url = settings.base_url or OLLAMA_DEFAULT_URL
        model = _require(settings, "model", 'llm.model = "qwen2.5:1.5b"')
        self.name = f"ollama:{model}"
        self.where = f"llm.base_url {base_url}"
        self._llm = Ollama(
            model=model, base_url=base_url, request_timeout=settings.timeout, temperature=settings.temperature,
            context_window=settings.n_ctx, additional_kwargs={"num_predict": settings.max_tokens},
        )
        self._llm.client  # noqa: B018 - create the HTTP client now, so per-request copies share its connections

    def generate(self, request: Request) -> Iterator[str]:
        # Ollama's integration reads options from the object only: a shallow copy per request (sharing the HTTP
        # client) keeps concurrent requests from changing each other's options.
        options: dict[str, Any] = {"num_predict": request.max_tokens}
        if request.stop:
            options["stop"] = request.stop
        llm = self._llm.model_copy(update={"temperature": request.temperature, "additional_kwargs": options})
        yield from _stream(llm, request, self.where)


def probe(url: str, setting: str) -> Readiness:
    """One short GET: is anything answering at `url`?"""
    import httpx

    try:
        response = httpx.get(url, timeout=2.0)
    except httpx.HTTPError as e:
        return Readiness(False, f"{setting} {url}: unreachable ({type(e).__name__})")
    if response.status_code >= 400:
        return Readiness(False, f"{setting} {url}: HTTP {response.status_code}")
    return Readiness(True, f"{url} answers")


def check_openai(settings: LLMSettings) -> Readiness:
    if not settings.base_url or not settings.model:
        return Readiness(False, "set llm.base_url and llm.model")
    return probe(settings.base_url.rstrip("/") + "/models", "llm.base_url")


def check_ollama(settings: LLMSettings) -> Readiness:
    if not settings.model:
        return Readiness(False, "set llm.model (an Ollama model tag)")
    return probe((settings.base_url or OLLAMA_DEFAULT_URL).rstrip("/") + "/api/tags", "llm.base_url")
