"""Eval question files and metrics: load and validate questions, score one answer, aggregate per type.

Pure functions over records (no models, no I/O beyond reading the question file), so the metrics can be
tested on hand-made inputs. Running a pipeline and writing reports live in runner.py / report.py.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.evals import TYPES
from assistant.ingest.corpus import CorpusError, normalise_title

KEYS = {"id", "type", "question", "gold_titles", "answer_keywords"}
CURVE_K = 10  # recall@k is reported for k = 1..CURVE_K


class EvalError(CorpusError):
    """A question file or an earlier run is unusable; the message names the file (and line) and what to fix."""


@dataclass(frozen=True)
class Question:
    id: str
    type: str  # one of TYPES
    question: str
    gold_titles: list[str]
    answer_keywords: list[str]  # lower-case whole-word phrases; "a|b" = either; "stem*" = a word start


def load_questions(path: Path, known_titles: Iterable[str] | None = None) -> list[Question]:
    """Read a JSONL question file; with `known_titles`, every gold title must be one of them."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise EvalError(f"{path}: cannot read the question file ({e})") from e
    known = {normalise_title(t) for t in known_titles} if known_titles is not None else None
    questions: list[Question] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if line.strip():
            question = _parse(line, f"{path}:{number}", known)
            if question.id in seen:
                raise EvalError(f"{path}:{number}: duplicate id {question.id!r}; ids must be unique")
            seen.add(question.id)
            questions.append(question)
    if not questions:
        raise EvalError(f"{path}: no questions (expected one JSON object per line)")
    return questions


def _parse(line: str, where: str, known: set[str] | None) -> Question:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as e:
        raise EvalError(f"{where}: invalid JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(data, dict) or set(data) != KEYS:
        got = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise EvalError(f"{where}: expected an object with exactly the keys {sorted(KEYS)}, got {got}")
    if not isinstance(data["id"], str | int) or not str(data["id"]).strip():
        raise EvalError(f"{where}: id must be a non-empty string")
    if data["type"] not in TYPES:
        raise EvalError(f"{where}: unknown type {data['type']!r}; use one of {', '.join(TYPES)}")
    if not isinstance(data["question"], str) or not data["question"].strip():
        raise EvalError(f"{where}: question must be a non-empty string")
    for key in ("gold_titles", "answer_keywords"):
        if not isinstance(data[key], list) or not all(isinstance(x, str) and x.strip() for x in data[key]):
            raise EvalError(f"{where}: {key} must be a list of non-empty strings")
    if data["type"] != "unanswerable" and not data["gold_titles"]:
        raise EvalError(f"{where}: a {data['type']} question needs at least one gold title")
    if known is not None:
        for title in data["gold_titles"]:
            if normalise_title(title) not in known:
                raise EvalError(f"{where}: gold title {title!r} is not in the store (check the spelling, "
                                "or ingest the paper first)")
    return Question(str(data["id"]), data["type"], data["question"].strip(), list(data["gold_titles"]),
                    [k.lower() for k in data["answer_keywords"]])


# -- per-question scores ------------------------------------------------------------------------------


def keyword_pattern(keyword: str) -> re.Pattern[str]:
    """A keyword matches whole words: "ppo" is not found in "support". A trailing "*" marks a stem that may
    go on ("retriev*" finds "retrieval"); a keyword's space matches any run of whitespace. A keyword that
    starts or ends with a non-word character ("30%") needs no word boundary on that side."""
    stem = keyword.endswith("*")
    body = keyword[:-1] if stem else keyword
    pattern = r"\s+".join(re.escape(part) for part in body.split())
    if body[:1].isalnum():
        pattern = r"(?<!\w)" + pattern
    if body[-1:].isalnum() and not stem:
        pattern += r"(?!\w)"
    return re.compile(pattern, re.IGNORECASE)


def keyword_found(keyword: str, text: str) -> bool:
    """True when any alternative of "a|b" matches `text` by the rule of `keyword_pattern`."""
    return any(keyword_pattern(alt.strip()).search(text) for alt in keyword.split("|") if alt.strip())


def keyword_hits(answer: str, keywords: Sequence[str]) -> float | None:
    """Share of keywords found in the answer (case-insensitive, whole words; see `keyword_pattern`)."""
    if not keywords:
        return None
    return sum(keyword_found(kw, answer) for kw in keywords) / len(keywords)


def score(question: Question, retrieved: Sequence[str], cited: Sequence[str], answer: str, refused: bool,
          curve: Sequence[str] = (), kind: str | None = None) -> dict[str, Any]:
    """Scores of one question. `retrieved`/`cited`/`curve` are titles, best first; `kind` the detected intent.

    Unanswerable questions only score the refusal. Citation and keyword scores are left to the caller to drop
    when nothing was generated (retrieval-only runs).
    """
    out: dict[str, Any] = {"refused": refused}
    if question.type == "unanswerable":
        return out
    gold = {normalise_title(t) for t in question.gold_titles}
    ranked = [normalise_title(t) for t in retrieved]
    cites = list(dict.fromkeys(normalise_title(t) for t in cited))
    out["sources"] = len(set(ranked))  # papers the model was given (the naive baseline's k counts chunks)
    out["recall"] = len(gold & set(ranked)) / len(gold)
    out["all_gold"] = float(gold <= set(ranked))
    first = next((i for i, t in enumerate(ranked, 1) if t in gold), None)
    out["mrr"] = 1.0 / first if first else 0.0
    out["citation_recall"] = len(gold & set(cites)) / len(gold)
    # Topic answers may rightly cite related papers beyond the gold set, so precision is not scored for them.
    if question.type in ("factual", "comparison") and cites:
        out["citation_precision"] = sum(c in gold for c in cites) / len(cites)
    hits = keyword_hits(answer, question.answer_keywords)
    out["keywords"] = 0.0 if refused and hits is not None else hits
    if kind is not None:
        out["intent"] = float(kind == question.type)
    if curve:
        ranked_curve = [normalise_title(t) for t in curve]
        out["recall_at"] = [len(gold & set(ranked_curve[:k])) / len(gold) for k in range(1, CURVE_K + 1)]
    return out


# -- aggregation --------------------------------------------------------------------------------------


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are present, rounded; None when none are."""
    xs = [v for v in values if v is not None and not math.isnan(v)]
    return round(statistics.fmean(xs), 4) if xs else None


def percentile(values: Iterable[float | None], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of the values that are present."""
    xs = sorted(v for v in values if v is not None)
    if not xs:
        return None
    index = min(len(xs) - 1, max(0, math.ceil(p / 100 * len(xs)) - 1))
    return round(xs[index], 4)


def aggregate(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Metrics over result rows (each: type, scores, timings, invalid_markers, error)."""
    answerable = [r["scores"] for r in rows if r["type"] != "unanswerable"]
    unanswerable = [r["scores"] for r in rows if r["type"] == "unanswerable"]
    metrics: dict[str, Any] = {
        "questions": len(rows),
        "errors": sum(1 for r in rows if r.get("error")),
        "recall": mean(s.get("recall") for s in answerable),
        "all_gold": mean(s.get("all_gold") for s in answerable),
        "intent_accuracy": mean(s.get("intent") for s in answerable),
        "mrr": mean(s.get("mrr") for s in answerable),
        "sources": mean(s.get("sources") for s in answerable),
        "citation_precision": mean(s.get("citation_precision") for s in answerable),
        "citation_recall": mean(s.get("citation_recall") for s in answerable),
        "invalid_markers": sum(int(r.get("invalid_markers") or 0) for r in rows),
        "keyword_accuracy": mean(s.get("keywords") for s in answerable),
        "refusal_accuracy": mean(float(s["refused"]) for s in unanswerable),
        "false_refusals": mean(float(s["refused"]) for s in answerable),
    }
    curves = [s["recall_at"] for s in answerable if s.get("recall_at")]
    metrics["recall_at"] = [mean(c[i] for c in curves) for i in range(CURVE_K)] if curves else []
    for key in ("retrieve", "first_token", "total"):
        values = [r["timings"].get(key) for r in rows]
        metrics[f"{key}_p50"] = percentile(values, 50)
        metrics[f"{key}_p95"] = percentile(values, 95)
    return metrics


def by_type(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """{type: metrics} for the types present, then "overall"."""
    out = {t: aggregate([r for r in rows if r["type"] == t]) for t in TYPES if any(r["type"] == t for r in rows)}
    out["overall"] = aggregate(rows)
    return out
