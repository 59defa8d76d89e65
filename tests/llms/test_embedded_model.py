"""The real embedded default model (Qwen2.5-Coder-1.5B from the pip wheels): its joined file verifies, the backend
streams a short reply, and the whole pipeline answers, refuses and compares with it."""

from __future__ import annotations

import pytest

from assistant.answer.pipeline import Pipeline
from assistant.config import LLMSettings
from assistant.llms.base import Request
from assistant.llms.builtin import default_registry
from assistant.llms.embedded import MODELS, ensure_model, stamp_valid
from assistant.llms.registry import BackendPool
from assistant.search.retriever import Retriever
from assistant.search.store import PaperStore
from assistant.types import REFUSAL
from tests.support import make_settings

pytestmark = pytest.mark.slow


def test_joined_file_verifies_and_the_backend_streams_a_short_reply():
    llm = LLMSettings()  # the default backend and cache dir, as the app uses them
    model = MODELS[llm.backend]
    path = ensure_model(model, llm.cache_dir)
    assert path.stat().st_size == model.size and stamp_valid(path, model.sha256)
    assert default_registry().check(llm).detail.endswith(f"verified {path}")
    backend = default_registry().build(llm)
    try:
        pieces = list(backend.generate(Request(
            messages=[{"role": "user", "content": "Reply with one word: what colour is the sky on a clear day?"}],
            max_tokens=8)))
    finally:
        backend.close()
    assert len(pieces) >= 1 and "blue" in "".join(pieces).lower()


@pytest.fixture(scope="module")
def pipeline(built_store, embedder) -> Pipeline:
    settings = make_settings(built_store)
    assert settings.llm.backend == "qwen2.5-coder-1.5b"
    backend = default_registry().build(settings.llm)
    return Pipeline(settings, Retriever(settings, PaperStore(settings), embedder), BackendPool.of(backend))


def test_factual_answer_cites_the_paper(pipeline):
    answer = pipeline.ask("What does DePT decompose the soft prompt into?")
    assert not answer.refused, answer.answer
    assert any(c.title.startswith("DePT:") and c.supported for c in answer.citations)
    assert "low-rank" in answer.answer.lower()
    assert answer.invalid_markers == 0 and answer.model == "qwen2.5-coder-1.5b"


def test_refuses_what_the_abstracts_do_not_say(pipeline):
    answer = pipeline.ask("How many GPUs were used to train LeTI?")
    assert answer.refused and answer.answer.startswith(REFUSAL) and answer.citations == []


def test_comparison_cites_both_papers(pipeline):
    answer = pipeline.ask("How does LeTI differ from DePT?")
    assert answer.kind == "comparison" and not answer.refused, answer.answer
    cited = {c.title.split(":")[0] for c in answer.citations}
    assert {"LeTI", "DePT"} <= cited
