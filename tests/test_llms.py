"""Backends: registry, fake and extractive behaviour, model-file verification, and clear errors for bad settings."""

from __future__ import annotations

import hashlib
import os

import pytest

from assistant.config import LLMSettings
from assistant.llms.base import BackendError, GenerationError, Request
from assistant.llms.embedded import EmbeddedModel, ensure_model, join_verified, locate_parts, stamp_valid
from assistant.llms.extractive import ExtractiveBackend
from assistant.llms.fake import FakeBackend
from assistant.llms.registry import default_registry
from assistant.types import REFUSAL, Source

SOURCES = [
    Source(1, "pA", "LeTI: Learning to Generate from Textual Interactions", "https://a", 0.9,
           "LeTI fine-tunes on textual feedback. The feedback is the error messages and stack traces from a "
           "Python interpreter. LeTI improves MBPP results."),
    Source(2, "pB", "DePT: Decomposed Prompt Tuning", "https://b", 0.8,
           "DePT decomposes the soft prompt into a shorter soft prompt and a pair of low-rank matrices."),
]


def request(question: str, sources=SOURCES) -> Request:
    return Request(messages=[{"role": "user", "content": question}], question=question, sources=list(sources))


def test_registry_lists_every_backend_family():
    names = default_registry().names()
    assert names[0] == "qwen2.5-coder-1.5b"
    assert {"qwen2.5-coder-0.5b", "smollm2-135m", "gguf", "ollama", "openai", "hf", "extractive", "fake"} <= set(names)


def test_unknown_backend_names_the_setting():
    with pytest.raises(BackendError, match=r"llm\.backend: unknown backend 'gpt-5'; choose one of: qwen2\.5"):
        default_registry().build(LLMSettings(backend="gpt-5"))


def test_fake_scripts_streams_and_records():
    fake = FakeBackend()
    fake.enqueue("one two three")
    assert list(fake.generate(request("q"))) == ["one ", "two ", "three"]
    assert "".join(fake.generate(request("q"))) == "LeTI fine-tunes on textual feedback [1]."
    assert "".join(fake.generate(request("just the question", sources=[]))) == "just the question"
    fake.enqueue(RuntimeError("server gone"))
    with pytest.raises(GenerationError, match="server gone"):
        list(fake.generate(request("q")))
    assert len(fake.history) == 4


def test_extractive_cites_the_best_sentences():
    text = "".join(ExtractiveBackend().generate(request("What error messages does LeTI learn from?")))
    assert text.startswith("The feedback is the error messages and stack traces from a Python interpreter. [1]")
    text = "".join(ExtractiveBackend().generate(request("What does DePT decompose the soft prompt into?")))
    assert "low-rank matrices. [2]" in text
    assert "".join(ExtractiveBackend().generate(request("sourdough rye bread baking"))) == REFUSAL


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (LLMSettings(backend="gguf"), r"llm\.path: the gguf backend needs"),
        (LLMSettings(backend="gguf", path="/nonexistent/model.gguf"),
         r"llm\.path = '/nonexistent/model\.gguf': no such"),
        (LLMSettings(backend="openai", model="m"), r"llm\.base_url: the openai backend needs it"),
        (LLMSettings(backend="openai", base_url="http://127.0.0.1:9/v1"), r"llm\.model: the openai backend needs"),
        (LLMSettings(backend="openai", base_url="http://127.0.0.1:9/v1", model="m", api_key_env="PA_TEST_NO_KEY"),
         r"llm\.api_key_env: the environment variable PA_TEST_NO_KEY is not set"),
        (LLMSettings(backend="ollama"), r"llm\.model: the ollama backend needs"),
        (LLMSettings(backend="hf", path="/nonexistent"), r"llm\.path = '/nonexistent': not a Hugging Face model"),
    ],
)
def test_bad_settings_give_clear_errors(settings, message):
    with pytest.raises(BackendError, match=message):
        default_registry().build(settings)


def test_a_file_that_is_not_gguf(tmp_path):
    f = tmp_path / "model.gguf"
    f.write_bytes(b"not a model")
    with pytest.raises(BackendError, match="not a GGUF file"):
        default_registry().build(LLMSettings(backend="gguf", path=f))


def test_unreachable_server_fails_generation_with_the_url():
    backend = default_registry().build(LLMSettings(backend="openai", base_url="http://127.0.0.1:9/v1", model="m",
                                                   timeout=5))
    with pytest.raises(GenerationError, match=r"llm\.base_url http://127\.0\.0\.1:9/v1: the model server failed"):
        list(backend.generate(request("q")))
    ready = default_registry().check(LLMSettings(backend="openai", base_url="http://127.0.0.1:9/v1", model="m"))
    assert not ready.ready and "unreachable" in ready.detail


def test_missing_model_wheels_say_what_to_install():
    model = EmbeddedModel("ghost", "Ghost", ("no-such-model-part1==1.0",), "0" * 64, 1)
    with pytest.raises(BackendError, match=r"no-such-model-part1 is not installed.*make models.*extractive"):
        locate_parts(model)


def _parts(tmp_path, chunks: list[bytes]):
    paths = []
    for i, data in enumerate(chunks, 1):
        p = tmp_path / f"part{i:02d}.bin"
        p.write_bytes(data)
        paths.append(p)
    return paths


def test_join_verifies_sha256_and_leaves_nothing_when_wrong(tmp_path):
    parts = _parts(tmp_path, [b"GGUF" + b"a" * 1000, b"b" * 1000])
    good = hashlib.sha256(b"GGUF" + b"a" * 1000 + b"b" * 1000).hexdigest()
    target = tmp_path / "cache" / "m.gguf"
    with pytest.raises(BackendError, match=r"sha256 is [0-9a-f]{64}, expected 0{64}.*make models"):
        join_verified(parts, target, "0" * 64, "llm.backend = 'm'")
    assert not target.exists() and list((tmp_path / "cache").iterdir()) == []  # no partial file left
    assert join_verified(parts, target, good, "m") == target and stamp_valid(target, good)


def test_a_tampered_joined_file_is_detected(tmp_path):
    parts = _parts(tmp_path, [b"GGUF" + b"x" * 2000])
    good = hashlib.sha256(b"GGUF" + b"x" * 2000).hexdigest()
    target = join_verified(parts, tmp_path / "m.gguf", good, "m")
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.write_bytes(bytes(data))
    os.utime(target, ns=(1, 1))
    assert not stamp_valid(target, good)  # the cached check no longer vouches for it


def test_real_small_model_verifies_and_caches(tmp_path):
    from assistant.llms.embedded import MODELS

    path = ensure_model(MODELS["smollm2-135m"], tmp_path)
    assert path.read_bytes()[:4] == b"GGUF" and stamp_valid(path, MODELS["smollm2-135m"].sha256)
    assert ensure_model(MODELS["smollm2-135m"], tmp_path) == path  # second time: the stamp, no re-hash
