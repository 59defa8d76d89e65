"""The real embedded default model (Qwen2.5-Coder-1.5B from the pip wheels) through the whole pipeline."""

from __future__ import annotations

import pytest

from assistant.llms.registry import default_registry
from assistant.pipeline import Pipeline
from assistant.retrieval import Retriever
from assistant.store import PaperStore
from assistant.types import REFUSAL
from tests.conftest import make_settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pipeline(built_store, embedder) -> Pipeline:
    settings = make_settings(built_store)
    assert settings.llm.backend == "qwen2.5-coder-1.5b"
    backend = default_registry().build(settings.llm)
    return Pipeline(settings, Retriever(settings, PaperStore(settings), embedder), backend)


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
