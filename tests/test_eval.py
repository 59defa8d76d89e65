"""The eval: question-file validation, metrics on known inputs, and real runs through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from assistant.evaluation import EvalError, Question, aggregate, keyword_hits, load_questions, percentile, score
from tests.conftest import CORPUS, ROOT

QUESTIONS = ROOT / "eval" / "questions.jsonl"


def test_the_shipped_eval_set_is_valid_against_the_corpus():
    from assistant.corpus import read_paths

    papers = {p.title: p for p in read_paths([CORPUS]).papers}
    questions = load_questions(QUESTIONS, papers)
    assert len(questions) >= 40
    assert {q.type for q in questions} == {"factual", "comparison", "topic", "unanswerable"}
    for q in questions:
        if q.type == "comparison":
            assert 2 <= len(q.gold_titles) <= 3
        if q.type == "topic":
            assert 3 <= len(q.gold_titles) <= 6
        text = " ".join(f"{papers[t].title} {papers[t].abstract}".lower() for t in q.gold_titles)
        for kw in q.answer_keywords:
            assert kw == kw.lower() and any(alt in text for alt in kw.split("|")), (q.id, kw)


def test_keyword_hits():
    assert keyword_hits("Uses PPO and GSM8K", ["ppo", "gsm8k|svamp", "mathqa"]) == pytest.approx(2 / 3)
    assert keyword_hits("anything", []) is None


def test_scores_on_known_inputs():
    q = Question("c1", "comparison", "A vs B", ["Paper A", "Paper B"], ["alpha", "beta"])
    s = score(q, retrieved=["Paper X", "Paper B", "Paper A"], cited=["Paper B", "Paper X"],
              answer="alpha only", refused=False, curve=["Paper B", "Paper X", "Paper A"])
    assert s["recall"] == 1.0 and s["all_gold"] == 1.0 and s["mrr"] == 0.5
    assert s["citation_precision"] == 0.5 and s["citation_recall"] == 0.5 and s["keywords"] == 0.5
    assert s["recall_at"][:3] == [0.5, 0.5, 1.0]
    u = score(Question("u1", "unanswerable", "?", [], []), ["Paper X"], [], "", True)
    assert u == {"refused": True}


def test_aggregate_and_percentiles():
    rows = [
        {"type": "factual", "scores": {"recall": 1.0, "mrr": 1.0, "refused": False, "keywords": 1.0,
                                       "citation_precision": 1.0, "citation_recall": 1.0, "all_gold": 1.0},
         "timings": {"retrieve": 0.1, "total": 2.0}, "invalid_markers": 0},
        {"type": "factual", "scores": {"recall": 0.0, "mrr": 0.0, "refused": True, "keywords": 0.0,
                                       "citation_recall": 0.0, "all_gold": 0.0},
         "timings": {"retrieve": 0.3, "total": 4.0}, "invalid_markers": 2},
        {"type": "unanswerable", "scores": {"refused": True}, "timings": {"retrieve": 0.2, "total": 1.0},
         "invalid_markers": 0},
    ]
    m = aggregate(rows)
    assert m["recall"] == 0.5 and m["citation_precision"] == 1.0 and m["invalid_markers"] == 2
    assert m["refusal_accuracy"] == 1.0 and m["false_refusals"] == 0.5
    assert m["total_p50"] == 2.0 and m["total_p95"] == 4.0
    assert percentile([], 50) is None


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"id": "a"'], ":1: invalid JSON"),
        (['{"id": "a", "type": "trivia", "question": "q", "gold_titles": ["T"], "answer_keywords": []}'],
         ":1: unknown type 'trivia'"),
        (['{"id": "a", "type": "factual", "question": "q", "gold_titles": ["No Such Paper"], '
          '"answer_keywords": []}'], ":1: gold title 'No Such Paper' is not in the store"),
        (['{"id": "a", "type": "factual", "question": "q", "gold_titles": []}'], ":1: expected exactly the keys"),
        (['{"id": "a", "type": "factual", "question": "q", "gold_titles": [], "answer_keywords": []}'],
         ":1: a factual question needs gold_titles"),
        ([], "no questions"),
    ],
)
def test_bad_question_files(tmp_path, lines, message):
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(EvalError) as err:
        load_questions(path, ["Known Paper"])
    assert message in str(err.value) and str(path) in str(err.value)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant.cli", "eval", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=900)


def test_retrieval_only_eval_on_the_real_corpus(built_store, tmp_path):
    out = tmp_path / "run"
    proc = run("--retrieval-only", "--store", str(built_store), "--limit", "6", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["metrics"]["overall"]["recall"] >= 0.8
    assert {p.name for p in out.iterdir()} >= {"report.md", "results.jsonl", "metrics.json", "per_type.png",
                                               "recall_at_k.png", "latency.png"}
    assert len((out / "results.jsonl").read_text().splitlines()) == 6
    # thresholds change the exit code, and name the metric
    proc = run("--retrieval-only", "--store", str(built_store), "--limit", "6", "--out", str(tmp_path / "r2"),
               "--min-recall", "1.01")
    assert proc.returncode == 1 and "recall" in proc.stderr and "--min-recall" in proc.stderr
    # --baseline adds a comparison column
    proc = run("--retrieval-only", "--store", str(built_store), "--limit", "6", "--out", str(tmp_path / "r3"),
               "--baseline", str(out))
    assert proc.returncode == 0 and "baseline (overall)" in proc.stdout


def test_full_eval_with_the_fake_backend(built_store, tmp_path):
    proc = run("--model", "fake", "--store", str(built_store), "--limit", "3", "--out", str(tmp_path / "f"),
               "--json")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in (tmp_path / "f" / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all(r["answer"] and r["cited"] for r in rows)
    metrics = json.loads(proc.stdout)["metrics"]["overall"]
    assert metrics["invalid_markers"] == 0 and metrics["citation_recall"] is not None


def test_bad_question_file_through_the_cli(built_store, tmp_path):
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"id": "a", "type": "factual", "question": "q", "gold_titles": ["Nope"], "answer_keywords": []}\n')
    proc = run("--questions", str(bad), "--store", str(built_store), "--retrieval-only")
    assert proc.returncode == 2 and "q.jsonl:1: gold title 'Nope' is not in the store" in proc.stderr


@pytest.mark.slow
def test_one_question_with_the_real_embedded_model(built_store, tmp_path):
    proc = run("--store", str(built_store), "--limit", "1", "--out", str(tmp_path / "real"), "--json")
    assert proc.returncode == 0, proc.stderr
    row = json.loads((tmp_path / "real" / "results.jsonl").read_text().splitlines()[0])
    assert row["model"] == "qwen2.5-coder-1.5b" and row["answer"]
    assert not row["refused"] and row["cited"] == [row["gold_titles"][0]]
