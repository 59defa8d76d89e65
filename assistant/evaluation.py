"""Eval question files and metrics: load and validate questions, score one answer, aggregate per type.

Pure functions over records (no models, no I/O beyond reading the question file), so the metrics can be
tested on hand-made inputs. Running the pipeline and writing reports live in eval_run.py / eval_report.py.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.corpus import CorpusError, normalise_title

TYPES = ("factual", "comparison", "topic", "unanswerable")
KEYS = {"id", "type", "question", "gold_titles", "answer_keywords"}


class EvalError(CorpusError):
    """A question file is malformed; the message names the file and line."""


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    question: str
    gold_titles: list[str]
    answer_keywords: list[str]  # lower-case phrases; "a|b" = either


def load_questions(path: Path, known_titles: Iterable[str] | None = None) -> list[Question]:
    """Read a JSONL question file; with `known_titles`, every gold title must be one of them."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise EvalError(f"{path}: cannot read ({e.strerror})") from e
    known = {normalise_title(t) for t in known_titles} if known_titles is not None else None
    questions: list[Question] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            raise EvalError(f"{where}: invalid JSON ({e.msg})") from None
        if not isinstance(data, dict) or set(data) != KEYS:
            got = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise EvalError(f"{where}: expected exactly the keys {sorted(KEYS)}, got {got}")
        if data["type"] not in TYPES:
            raise EvalError(f"{where}: unknown type {data['type']!r}; use one of {', '.join(TYPES)}")
        if not isinstance(data["question"], str) or not data["question"].strip():
            raise EvalError(f"{where}: empty question")
        for key in ("gold_titles", "answer_keywords"):
            if not isinstance(data[key], list) or not all(isinstance(x, str) for x in data[key]):
                raise EvalError(f"{where}: {key} must be a list of strings")
        if data["type"] != "unanswerable" and not data["gold_titles"]:
            raise EvalError(f"{where}: a {data['type']} question needs gold_titles")
        if data["id"] in seen:
            raise EvalError(f"{where}: duplicate id {data['id']!r}")
        seen.add(data["id"])
        if known is not None:
            for title in data["gold_titles"]:
                if normalise_title(title) not in known:
                    raise EvalError(f"{where}: gold title {title!r} is not in the store")
        questions.append(Question(str(data["id"]), data["type"], data["question"], list(data["gold_titles"]),
                                  [k.lower() for k in data["answer_keywords"]]))
    if not questions:
        raise EvalError(f"{path}: no questions")
    return questions


# -- per-question scores ------------------------------------------------------------------------------


def keyword_hits(answer: str, keywords: Sequence[str]) -> float | None:
    if not keywords:
        return None
    text = answer.lower()
    return sum(any(alt.strip() in text for alt in kw.split("|")) for kw in keywords) / len(keywords)


def score(question: Question, retrieved: Sequence[str], cited: Sequence[str], answer: str, refused: bool,
          curve: Sequence[str] = ()) -> dict[str, Any]:
    """Scores of one question. `retrieved`/`cited`/`curve` are titles, best first."""
    gold = {normalise_title(t) for t in question.gold_titles}
    ranked = [normalise_title(t) for t in retrieved]
    cites = list(dict.fromkeys(normalise_title(t) for t in cited))
    out: dict[str, Any] = {"refused": refused}
    if question.type != "unanswerable":
        found = [t for t in ranked if t in gold]
        out["recall"] = len(set(found)) / len(gold)
        out["all_gold"] = float(gold <= set(ranked))
        first = next((i for i, t in enumerate(ranked, 1) if t in gold), None)
        out["mrr"] = 1.0 / first if first else 0.0
        out["citation_recall"] = len(gold & set(cites)) / len(gold)
        if question.type in ("factual", "comparison") and cites:
            out["citation_precision"] = len([c for c in cites if c in gold]) / len(cites)
        out["keywords"] = None if refused else keyword_hits(answer, question.answer_keywords)
        if out["keywords"] is None and question.answer_keywords:
            out["keywords"] = 0.0
        curve_ranked = [normalise_title(t) for t in curve]
        out["recall_at"] = [len(gold & set(curve_ranked[:k])) / len(gold) for k in range(1, 11)] if curve else []
    return out


# -- aggregation --------------------------------------------------------------------------------------


def _mean(values: Iterable[float | None]) -> float | None:
    xs = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return round(statistics.fmean(xs), 4) if xs else None


def percentile(values: Sequence[float], p: float) -> float | None:
    xs = sorted(v for v in values if v is not None)
    if not xs:
        return None
    index = min(len(xs) - 1, max(0, math.ceil(p / 100 * len(xs)) - 1))
    return round(xs[index], 4)


def aggregate(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Metrics over result rows (each: type, scores, timings, invalid_markers)."""
    answerable = [r for r in rows if r["type"] != "unanswerable"]
    unanswerable = [r for r in rows if r["type"] == "unanswerable"]
    metrics: dict[str, Any] = {
        "questions": len(rows),
        "recall": _mean(r["scores"].get("recall") for r in answerable),
        "all_gold": _mean(r["scores"].get("all_gold") for r in answerable),
        "mrr": _mean(r["scores"].get("mrr") for r in answerable),
        "citation_precision": _mean(r["scores"].get("citation_precision") for r in answerable),
        "citation_recall": _mean(r["scores"].get("citation_recall") for r in answerable),
        "invalid_markers": sum(int(r.get("invalid_markers", 0)) for r in rows),
        "keyword_accuracy": _mean(r["scores"].get("keywords") for r in answerable),
        "refusal_accuracy": _mean(float(r["scores"]["refused"]) for r in unanswerable),
        "false_refusals": _mean(float(r["scores"]["refused"]) for r in answerable),
    }
    curves = [r["scores"]["recall_at"] for r in answerable if r["scores"].get("recall_at")]
    metrics["recall_at"] = [_mean(c[i] for c in curves) for i in range(10)] if curves else []
    for key in ("retrieve", "first_token", "total"):
        values = [r["timings"].get(key) for r in rows if r["timings"].get(key) is not None]
        metrics[f"{key}_p50"] = percentile(values, 50)
        metrics[f"{key}_p95"] = percentile(values, 95)
    return metrics


def by_type(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {t: aggregate([r for r in rows if r["type"] == t]) for t in TYPES if any(r["type"] == t for r in rows)}
    out["overall"] = aggregate(rows)
    return out
