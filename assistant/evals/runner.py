"""Runs eval questions through a pipeline (ours, or the naive baseline) and turns each answer into a result row.

Both pipelines are seen through the same three calls (`ranking`, `retrieve`, `ask`), so the eval never
special-cases one. No metrics math here (metrics.py) and no files written (report.py).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from assistant.answer.pipeline import Pipeline, QuestionError
from assistant.evals.metrics import CURVE_K, Question, score
from assistant.llms.base import GenerationError
from assistant.types import Answer


@dataclass(frozen=True)
class Retrieved:
    titles: list[str]  # the sources the model would get, best first
    kind: str  # a QuestionKind value
    refused: bool  # what the pipeline decides before generating (relevance threshold, unanswerable checks)
    seconds: float


class Subject(Protocol):
    """A pipeline as the eval sees it."""

    has_intent: bool  # False when the pipeline does not tell question kinds apart (intent is not scored)

    def ranking(self, question: str, n: int) -> list[str]:
        """Titles of the n best papers, best first (for the recall@1..10 curve)."""

    def retrieve(self, question: str) -> Retrieved:
        """What retrieval alone gives the model, without generating."""

    def ask(self, question: str) -> Answer:
        """The whole run, as the UI does it."""


class ProductSubject:
    """Our pipeline: `Pipeline.retrieve` / `.declines` for retrieval-only runs, `Pipeline.ask` for full ones."""

    has_intent = True

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def ranking(self, question: str, n: int) -> list[str]:
        return [h.title for h in self.pipeline.retrieve(question, self.pipeline.options(k=n)).hits]

    def retrieve(self, question: str) -> Retrieved:
        start = time.perf_counter()
        retrieval = self.pipeline.retrieve(question)
        return Retrieved([h.title for h in retrieval.hits], retrieval.kind, self.pipeline.declines(question, retrieval),
                         round(time.perf_counter() - start, 4))

    def ask(self, question: str) -> Answer:
        return self.pipeline.ask(question)


def _base_row(question: Question) -> dict[str, Any]:
    return {"id": question.id, "type": question.type, "question": question.question,
            "gold_titles": question.gold_titles, "answer_keywords": question.answer_keywords}


def run_question(question: Question, subject: Subject, *, retrieval_only: bool) -> dict[str, Any]:
    """One result row: what was retrieved, cited and answered, timings, and the scores."""
    curve = subject.ranking(question.question, CURVE_K)
    row = _base_row(question)
    if retrieval_only:
        got = subject.retrieve(question.question)
        row |= {"retrieved": got.titles, "kind": got.kind, "cited": [], "answer": "", "refused": got.refused,
                "timings": {"retrieve": got.seconds}, "invalid_markers": 0, "unsupported": 0, "error": None}
        scores = score(question, got.titles, [], "", got.refused, curve, got.kind if subject.has_intent else None)
        # Nothing was generated: citation and answer scores do not apply ("refused" is the pre-generation checks' call).
        row["scores"] = {k: v for k, v in scores.items() if k not in ("citation_recall", "keywords")}
        return row
    try:
        answer = subject.ask(question.question)
    except (GenerationError, QuestionError) as e:  # BackendError (misconfiguration) stops the whole run
        row |= {"retrieved": [], "kind": None, "cited": [], "answer": "", "refused": False, "timings": {},
                "invalid_markers": 0, "unsupported": 0, "error": f"{type(e).__name__}: {e}"}
        row["scores"] = score(question, [], [], "", False, curve)
        return row
    row |= {
        "retrieved": [s.title for s in answer.sources],
        "kind": answer.kind,
        "cited": list(dict.fromkeys(c.title for c in answer.citations)),
        "answer": answer.answer,
        "refused": answer.refused,
        "timings": answer.timings.to_dict(),
        "invalid_markers": answer.invalid_markers,
        "unsupported": len(answer.unsupported),
        "model": answer.model,
        "error": None,
    }
    row["scores"] = score(question, row["retrieved"], row["cited"], answer.answer, answer.refused, curve,
                          answer.kind if subject.has_intent else None)
    return row


def run_all(questions: Sequence[Question], subject: Subject, *, retrieval_only: bool,
            progress: bool = True) -> list[dict[str, Any]]:
    """Result rows in question order, with a progress bar on stderr."""
    from tqdm import tqdm

    return [run_question(q, subject, retrieval_only=retrieval_only)
            for q in tqdm(questions, desc="Evaluating", unit="question", disable=not progress)]
