"""Backends: registry, fake and extractive behaviour, model-file verification, and clear errors for bad settings."""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
import tomllib

import pytest

from assistant.config import LLMSettings
from assistant.llms.base import BackendError, GenerationError, Request
from assistant.llms.builtin import default_registry
from assistant.llms.embedded import EmbeddedModel, ensure_model, join_verified, locate_parts, stamp_valid
from assistant.llms.extractive import ExtractiveBackend
from assistant.llms.fake import FakeBackend
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


def test_fake_without_sources_or_question_echoes_the_last_line_of_the_prompt():
    prompt = "Conversation:\nuser: What is LeTI?\nRewrite: How does LeTI use interpreter errors?"
    req = Request(messages=[{"role": "system", "content": "Rewrite."}, {"role": "user", "content": prompt}])
    assert "".join(FakeBackend().generate(req)) == "Rewrite: How does LeTI use interpreter errors?"


def _fabricate_package(site, name: str, parts: dict[str, bytes]) -> None:
    """A minimal installed distribution (dist-info + RECORD) holding `parts`, like the model wheels."""
    module = name.replace("-", "_")
    info = site / f"{module}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    record = [f"{info.name}/METADATA,,", f"{info.name}/RECORD,,"]
    for rel, data in parts.items():
        path = site / module / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        record.append(f"{module}/{rel},,")
    (info / "RECORD").write_text("\n".join(record) + "\n")


@pytest.fixture
def fabricated(tmp_path, monkeypatch):
    """Eleven parts named part1..part11 (so a text sort would put part10 before part2) in one package."""
    chunks = [bytes([65 + i]) * (100 + i) for i in range(11)]
    chunks[0] = b"GGUF" + chunks[0]
    _fabricate_package(tmp_path / "site", "pa-fab-model", {f"data/part{i}.bin": c for i, c in enumerate(chunks, 1)})
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    joined = b"".join(chunks)
    return EmbeddedModel("fab", "Fab", ("pa-fab-model==1.0",), hashlib.sha256(joined).hexdigest(), len(joined)), joined


def test_parts_join_in_numeric_order_once_and_rehash_when_changed(fabricated, tmp_path):
    model, joined = fabricated
    path = ensure_model(model, tmp_path / "cache")
    assert path.read_bytes() == joined and stamp_valid(path, model.sha256)
    stamp_mtime = path.stat().st_mtime_ns
    assert ensure_model(model, tmp_path / "cache") == path and path.stat().st_mtime_ns == stamp_mtime  # cached
    path.write_bytes(b"GGUF corrupted")  # changed behind our back: re-hashed, found bad, joined again
    assert ensure_model(model, tmp_path / "cache").read_bytes() == joined


def test_wrong_sha256_names_the_package_and_both_hashes(fabricated, tmp_path):
    model, joined = fabricated
    wrong = EmbeddedModel("fab", "Fab", model.packages, "f" * 64, model.size)
    actual = hashlib.sha256(joined).hexdigest()
    with pytest.raises(BackendError, match=rf"packages pa-fab-model\).*sha256 is {actual}, expected f{{64}}"):
        ensure_model(wrong, tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []  # the bad join was deleted


def test_a_wrong_version_or_missing_part_is_reported(fabricated, tmp_path):
    model, _ = fabricated
    with pytest.raises(BackendError, match=r"pa-fab-model is 1\.0, expected 2\.0.*make models"):
        locate_parts(EmbeddedModel("fab", "Fab", ("pa-fab-model==2.0",), model.sha256, model.size))
    (tmp_path / "site" / "pa_fab_model" / "data" / "part5.bin").unlink()
    record = tmp_path / "site" / "pa_fab_model-1.0.dist-info" / "RECORD"
    record.write_text(record.read_text().replace("pa_fab_model/data/part5.bin,,\n", ""))
    with pytest.raises(BackendError, match=r"model parts \[1, 2, 3, 4, 6,"):
        locate_parts(model)


def test_checks_are_cheap_and_say_what_is_wrong(tmp_path):
    registry = default_registry()
    assert registry.check(LLMSettings(backend="extractive")).ready
    not_ready = {
        "gguf": r"llm\.path: the gguf backend needs",
        "hf": r"llm\.path: the hf backend needs",
        "openai": r"set llm\.base_url and llm\.model",
        "ollama": r"set llm\.model",
    }
    for name, message in not_ready.items():
        ready = registry.check(LLMSettings(backend=name, cache_dir=tmp_path))
        assert not ready.ready and re.search(message, ready.detail), (name, ready.detail)
    smol = registry.check(LLMSettings(backend="smollm2-135m", cache_dir=tmp_path))
    assert smol.ready and "joined and verified on first use" in smol.detail


def test_every_config_example_in_the_backend_docs_is_valid():
    from assistant.config import Settings
    from tests.support import ROOT

    text = (ROOT / "docs" / "backends.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 6
    names = set(default_registry().names())
    for block in blocks:
        settings = Settings.model_validate(tomllib.loads(block))
        assert settings.llm.backend in names


def test_hf_backend_streams_from_a_local_model_dir(tmp_path):
    """A tiny randomly initialised GPT-2 and word-level tokenizer saved locally: the real transformers path."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    text = "the model learns from textual feedback and error messages of a python interpreter"
    words = ["<unk>", "<eos>", *text.split()]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<eos>")
    tokenizer.chat_template = "{% for m in messages %}{{ m['content'] }} {% endfor %}"
    tokenizer.save_pretrained(tmp_path)
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(words), n_positions=128, n_embd=16, n_layer=1, n_head=2, eos_token_id=1,
                        bos_token_id=1, pad_token_id=1)
    GPT2LMHeadModel(config).save_pretrained(tmp_path)

    llm = LLMSettings(backend="hf", path=tmp_path)
    assert default_registry().check(llm).ready
    backend = default_registry().build(llm)
    req = Request(messages=[{"role": "user", "content": "the model learns from"}], max_tokens=8)
    pieces = list(backend.generate(req))
    assert backend.name == f"hf:{tmp_path.name}" and pieces and all(isinstance(p, str) for p in pieces)
    assert set(" ".join(pieces).split()) <= set(words)
    cancel = threading.Event()
    stopped = []
    for piece in backend.generate(Request(messages=req.messages, max_tokens=40, cancel=cancel)):
        stopped.append(piece)
        cancel.set()
    assert len(stopped) == 1  # nothing after the cancel, and the worker thread was joined


def test_a_cancelled_gguf_generation_stops_mid_prompt_and_the_model_answers_again(tmp_path):
    """llama.cpp's abort callback: a cancel set while the model reads a long prompt ends `generate` at once with
    nothing yielded, and the next request on the same loaded model is answered normally."""
    from assistant.llms.embedded import MODELS
    from assistant.llms.llamacpp import LlamaCppBackend

    path = ensure_model(MODELS["smollm2-135m"], tmp_path)
    backend = LlamaCppBackend("smollm2-135m", lambda: path, LLMSettings(backend="smollm2-135m", n_ctx=4096))
    long = " ".join(f"Paper {i} studies how language models use retrieved abstracts." for i in range(250))
    try:
        backend.load()
        start = time.perf_counter()
        list(backend.generate(Request(messages=[{"role": "user", "content": long}], max_tokens=8)))
        full = time.perf_counter() - start  # reading the whole prompt (and a few tokens)
        cancel = threading.Event()
        threading.Timer(0.1, cancel.set).start()
        start = time.perf_counter()
        # A different start: llama-cpp-python keeps the last prompt's KV cache and re-reads only what follows the
        # common prefix, so appending to the same prompt would leave almost nothing to read.
        pieces = list(backend.generate(Request(messages=[{"role": "user", "content": "Again. " + long}],
                                               max_tokens=8, cancel=cancel)))
        took = time.perf_counter() - start
        assert pieces == [] and took < max(0.5, full / 2), (took, full)
        again = "".join(backend.generate(Request(messages=[{"role": "user", "content": "Say hello."}], max_tokens=4)))
        assert again.strip()
    finally:
        backend.close()


def test_concurrent_first_requests_load_the_gguf_model_once(tmp_path):
    """A question arriving while the warm-up loads the model must wait for that load, not start a second one."""
    import threading

    from assistant.llms.embedded import MODELS
    from assistant.llms.llamacpp import LlamaCppBackend

    path = ensure_model(MODELS["smollm2-135m"], tmp_path)
    located: list[int] = []

    def locate():
        located.append(1)
        return path

    backend = LlamaCppBackend("smollm2-135m", locate, LLMSettings(backend="smollm2-135m", n_ctx=512))
    loaded: list[object] = []
    threads = [threading.Thread(target=lambda: loaded.append(backend.load())) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
        assert len(located) == 1 and len(loaded) == 3 and all(m is loaded[0] for m in loaded)
        assert "".join(backend.generate(Request(messages=[{"role": "user", "content": "Hi"}], max_tokens=2)))
    finally:
        backend.close()
