"""`paper-assistant eval`: run the eval set through the same pipeline the UI uses, report, and gate on thresholds.

Exit 1 when a metric is below its --min-* threshold; exit 2 (via the CLI) for bad question files or settings.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from assistant.config import ROOT

THRESHOLDS = {"min_recall": "recall", "min_citation_precision": "citation_precision",
              "min_refusal": "refusal_accuracy"}


def cmd_eval(args: argparse.Namespace) -> int:
    from assistant.cli import settings_from
    from assistant.embeddings import load_embedder
    from assistant.eval_report import load_baseline, markdown_table, write_run
    from assistant.eval_run import run_all
    from assistant.evaluation import by_type, load_questions
    from assistant.retrieval import Retriever
    from assistant.store import PaperStore

    settings = settings_from(args)
    baseline = load_baseline(args.baseline) if args.baseline else None
    store = PaperStore(settings)
    titles = {str(m["title"]) for _, m, _ in store.iter_metadata()}
    questions = load_questions(args.questions, titles)[: args.limit or None]
    retriever = Retriever(settings, store, load_embedder(settings.embedding))
    pipeline = None
    if not args.retrieval_only:
        pipeline = _pipeline(args.pipeline, settings, retriever)
    rows = run_all(questions, pipeline, retriever, retrieval_only=args.retrieval_only, k=settings.retrieval.k,
                   progress=not args.json)
    metrics = by_type(rows)
    meta: dict[str, Any] = {
        "questions": str(args.questions), "pipeline": "retrieval-only" if args.retrieval_only else args.pipeline,
        "model": "-" if args.retrieval_only else settings.llm.backend, "k": settings.retrieval.k,
        "hybrid": settings.retrieval.hybrid, "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    out = args.out or ROOT / "eval" / "results" / time.strftime("%Y%m%d-%H%M%S")
    write_run(out, rows, metrics, meta, baseline)
    if args.json:
        print(json.dumps({"meta": meta, "metrics": metrics, "out": str(out)}, indent=2))
    else:
        print(markdown_table(metrics, baseline))
        print(f"\nWrote {out}/report.md")
    return _gate(args, metrics["overall"])


def _pipeline(kind: str, settings: Any, retriever: Any) -> Any:
    from assistant.llms.registry import default_registry
    from assistant.pipeline import Pipeline

    backend = default_registry().build(settings.llm)
    if kind == "naive":
        from assistant.naive import NaivePipeline

        return NaivePipeline(retriever, backend, settings.llm.max_tokens)
    return Pipeline(settings, retriever, backend)


def _gate(args: argparse.Namespace, overall: dict[str, Any]) -> int:
    failed = []
    for flag, metric in THRESHOLDS.items():
        limit = getattr(args, flag)
        if limit is None:
            continue
        value = overall.get(metric)
        if value is None or value < limit:
            failed.append(f"{metric} = {value} is below --{flag.replace('_', '-')} {limit}")
    for line in failed:
        print(f"eval: {line}", file=sys.stderr)
    return 1 if failed else 0


def add_command(sub: argparse._SubParsersAction, add_common: Any) -> None:
    p = sub.add_parser("eval", help="measure retrieval, citations, answers, refusals and latency on a question set")
    p.add_argument("--questions", type=Path, default=ROOT / "eval" / "questions.jsonl", help="JSONL question file")
    p.add_argument("--model", help="backend name (see `paper-assistant models`)")
    p.add_argument("--k", type=int, help="number of sources")
    p.add_argument("--retrieval-only", action="store_true", help="skip generation (fast)")
    p.add_argument("--pipeline", choices=["product", "naive"], default="product",
                   help="ours, or llama-index's plain default (dense top-2, generic prompt) as a baseline")
    p.add_argument("--out", type=Path, help="output directory (default eval/results/<timestamp>)")
    p.add_argument("--baseline", type=Path, help="an earlier run's directory to compare with")
    p.add_argument("--limit", type=int, help="only the first N questions")
    p.add_argument("--min-recall", type=float, help="exit 1 if overall retrieval recall is below this")
    p.add_argument("--min-citation-precision", type=float, help="exit 1 if citation precision is below this")
    p.add_argument("--min-refusal", type=float, help="exit 1 if refusal accuracy is below this")
    add_common(p)
    p.set_defaults(func=cmd_eval)
