"""Runs eval questions through a pipeline (ours or the naive baseline) and turns each answer into a result row.

No metrics math here (evaluation.py) and no files written (eval_report.py).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from assistant.evaluation import Question, score
from assistant.llms.base import BackendError, GenerationError
from assistant.pipeline import QuestionError

CURVE_K = 10


def run_question(question: Question, pipeline: Any, retriever: Any, *, retrieval_only: bool, k: int) -> dict:
    curve = [h.title for h in retriever.find(question.question, CURVE_K).hits]
    row: dict[str, Any] = {"id": question.id, "type": question.type, "question": question.question,
                           "gold_titles": question.gold_titles}
    if retrieval_only:
        start = time.perf_counter()
        hits = retriever.find(question.question, k).hits
        # Without generation, "refused" is what the pipeline's relevance threshold alone would decide.
        sims = [h.similarity for h in hits if h.similarity is not None]
        refused = not sims or max(sims) < retriever.settings.retrieval.min_score
        row |= {"retrieved": [h.title for h in hits], "cited": [], "answer": "", "refused": refused,
                "timings": {"retrieve": round(time.perf_counter() - start, 4)}, "invalid_markers": 0,
                "unsupported": 0, "error": None}
        scores = score(question, row["retrieved"], [], "", refused, curve)
        # Nothing was generated: answer and citation scores do not apply.
        row["scores"] = {k: v for k, v in scores.items() if k not in ("citation_recall", "keywords")}
        return row
    try:
        answer = pipeline.ask(question.question)
        error = None
    except (BackendError, GenerationError, QuestionError) as e:
        answer, error = None, str(e)
    if answer is None:
        row |= {"retrieved": [], "cited": [], "answer": "", "refused": False, "timings": {}, "invalid_markers": 0,
                "unsupported": 0, "error": error}
        row["scores"] = score(question, [], [], "", False, curve)
        return row
    row |= {
        "retrieved": [s.title for s in answer.sources],
        "cited": [c.title for c in answer.citations],
        "answer": answer.answer,
        "refused": answer.refused,
        "timings": answer.timings.to_dict(),
        "invalid_markers": answer.invalid_markers,
        "unsupported": len(answer.unsupported),
        "model": answer.model,
        "error": None,
    }
    row["scores"] = score(question, row["retrieved"], row["cited"], answer.answer, answer.refused, curve)
    return row


def run_all(questions: Sequence[Question], pipeline: Any, retriever: Any, *, retrieval_only: bool, k: int,
            progress: bool = True) -> list[dict]:
    from tqdm import tqdm

    rows = []
    for q in tqdm(questions, desc="Evaluating", unit="question", disable=not progress):
        rows.append(run_question(q, pipeline, retriever, retrieval_only=retrieval_only, k=k))
    return rows
