"""The built-in backends, how each is checked and built, and the default registry of them.

Heavy libraries load inside each `build`, so making the registry is cheap.
"""

from __future__ import annotations

from functools import partial

from assistant.config import LLMSettings
from assistant.llms.base import Backend, BackendError, BackendSpec, Readiness
from assistant.llms.registry import Registry


def _embedded(name: str, settings: LLMSettings) -> Backend:
    from assistant.llms.embedded import MODELS, ensure_model, locate_parts
    from assistant.llms.llamacpp import LlamaCppBackend

    model = MODELS[name]
    locate_parts(model)  # fail now, not on the first question, when the wheels are missing
    return LlamaCppBackend(name, lambda: ensure_model(model, settings.cache_dir), settings)


def _check_embedded(name: str, settings: LLMSettings) -> Readiness:
    from assistant.llms.embedded import MODELS, readiness

    return Readiness(*readiness(MODELS[name], settings.cache_dir))


def _gguf(settings: LLMSettings) -> Backend:
    from assistant.llms.llamacpp import LlamaCppBackend, gguf_path

    path = gguf_path(settings)
    return LlamaCppBackend(f"gguf:{path.name}", lambda: path, settings)


def _check_gguf(settings: LLMSettings) -> Readiness:
    from assistant.llms.llamacpp import gguf_path

    try:
        return Readiness(True, f"GGUF file {gguf_path(settings)}")
    except BackendError as e:
        return Readiness(False, str(e))


def _openai(settings: LLMSettings) -> Backend:
    from assistant.llms.servers import OpenAICompatibleBackend

    return OpenAICompatibleBackend(settings)


def _ollama(settings: LLMSettings) -> Backend:
    from assistant.llms.servers import OllamaBackend

    return OllamaBackend(settings)


def _check_openai(settings: LLMSettings) -> Readiness:
    from assistant.llms.servers import check_openai

    return check_openai(settings)


def _check_ollama(settings: LLMSettings) -> Readiness:
    from assistant.llms.servers import check_ollama

    return check_ollama(settings)


def _hf(settings: LLMSettings) -> Backend:
    from assistant.llms.hf import HFBackend

    return HFBackend(settings)


def _check_hf(settings: LLMSettings) -> Readiness:
    from assistant.llms.hf import check

    return check(settings)


def _extractive(settings: LLMSettings) -> Backend:
    from assistant.llms.extractive import ExtractiveBackend

    return ExtractiveBackend()


def _fake(settings: LLMSettings) -> Backend:
    from assistant.llms.fake import FakeBackend

    return FakeBackend()


def _always(detail: str, settings: LLMSettings) -> Readiness:
    return Readiness(True, detail)


def specs() -> list[BackendSpec]:
    embedded = [
        ("qwen2.5-coder-1.5b", "Qwen2.5-Coder-1.5B-Instruct (embedded, from pip; the default)"),
        ("qwen2.5-coder-0.5b", "Qwen2.5-Coder-0.5B-Instruct (embedded, from pip; faster, weaker)"),
        ("smollm2-135m", "SmolLM2-135M-Instruct (embedded, from pip; fast, for tests)"),
    ]
    return [
        *(BackendSpec(n, d, partial(_embedded, n), partial(_check_embedded, n)) for n, d in embedded),
        BackendSpec("gguf", "any local GGUF file at llm.path (llama.cpp)", _gguf, _check_gguf),
        BackendSpec("ollama", "an Ollama server (llm.base_url, llm.model)", _ollama, _check_ollama),
        BackendSpec("openai", "any OpenAI-compatible server: vLLM, llama.cpp, LM Studio, TGI (llm.base_url, "
                    "llm.model, llm.api_key_env)", _openai, _check_openai),
        BackendSpec("hf", "a local Hugging Face transformers model directory at llm.path", _hf, _check_hf),
        BackendSpec("extractive", "no generative model: the best-matching source sentences, cited",
                    _extractive, partial(_always, "built in")),
        BackendSpec("fake", "a scripted test double (for tests and demos)", _fake, partial(_always, "built in"),
                    hidden=True),
    ]


def default_registry() -> Registry:
    """A registry of the built-in backends."""
    registry = Registry()
    for spec in specs():
        registry.register(spec)
    return registry
