"""`paper-assistant eval`: run a question set through the same pipeline the UI uses, report, gate on thresholds.

Exit 1 when a metric is below its --min-* threshold; exit 2 (via the CLI) for bad question files or settings.
The work is done by `evals.metrics`, `evals.runner` and `evals.report`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from assistant.cli.common import add_common, settings_from

SPLITS = ("dev", "test", "generated")
EVAL_DIR = Path("eval")  # the question splits, relative to the working directory (the repository)
THRESHOLDS = {"min_recall": "recall", "min_citation_precision": "citation_precision",
              "min_refusal": "refusal_accuracy"}  # flag -> overall metric


def cmd_eval(args: argparse.Namespace) -> int:
    from assistant.app import build
    from assistant.evals.metrics import by_type, load_questions
    from assistant.evals.report import load_baseline, markdown_table, misses, write_run
    from assistant.evals.runner import ProductSubject, run_all

    model = settings_from(args).llm.backend
    # Nothing is generated in a retrieval-only run: do not load (or require) a model.
    settings = settings_from(args, llm={"backend": "extractive"}) if args.retrieval_only else settings_from(args)
    baseline = load_baseline(args.baseline) if args.baseline else None
    app = build(settings)
    path = args.questions or EVAL_DIR / f"{args.split}.jsonl"
    questions = load_questions(path, app.store.titles())[: args.limit]
    if args.pipeline == "naive":
        from assistant.evals.naive import NaivePipeline

        subject: Any = NaivePipeline(settings, app.store, app.embedder, app.backends.get())
    else:
        subject = ProductSubject(app.pipeline)
    rows = run_all(questions, subject, retrieval_only=args.retrieval_only, progress=True)
    metrics = by_type(rows)
    meta: dict[str, Any] = {
        "questions": str(path), "split": None if args.questions else args.split, "n": len(questions),
        "pipeline": args.pipeline,
        "mode": "retrieval-only" if args.retrieval_only else "full", "model": "-" if args.retrieval_only else model,
        "k": settings.retrieval.k if args.pipeline == "product" else 2,
        "hybrid": settings.retrieval.hybrid and args.pipeline == "product",
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    out = args.out or Path("eval") / "results" / time.strftime("%Y%m%d-%H%M%S")
    write_run(out, rows, metrics, meta, baseline)
    if args.json:
        print(json.dumps({"meta": meta, "metrics": metrics, "out": str(out)}, indent=2))
    else:
        print(markdown_table(metrics, baseline))
        print(f"\n{len(misses(rows))} of {len(rows)} questions lost points; see {out}/report.md")
    return _gate(args, metrics["overall"])


def _gate(args: argparse.Namespace, overall: dict[str, Any]) -> int:
    """1 when any requested threshold is not met, with one line per failure on stderr."""
    failed = []
    for flag, metric in THRESHOLDS.items():
        limit = getattr(args, flag)
        if limit is None:
            continue
        value = overall.get(metric)
        option = "--" + flag.replace("_", "-")
        if value is None:
            failed.append(f"{metric} was not measured in this run, so {option} {limit} cannot be met")
        elif value < limit:
            failed.append(f"{metric} = {value:.3f} is below {option} {limit}")
    for line in failed:
        print(f"eval: {line}", file=sys.stderr)
    if overall.get("errors"):
        print(f"eval: {overall['errors']} question(s) failed with an error; see results.jsonl", file=sys.stderr)
    return 1 if failed else 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="measure retrieval, citations, answers, refusals and latency on a question set")
    p.add_argument("--split", choices=SPLITS, default="dev",
                   help="question set: dev (tune on it), test (report only; never tune to it), generated (built "
                   "from the corpus by eval/generate.py); default dev")
    p.add_argument("--questions", type=Path, help="a JSONL question file instead of a split")
    p.add_argument("--model", help="backend name (see `paper-assistant models`; default llm.backend)")
    p.add_argument("--k", type=_positive, help="number of sources (default retrieval.k)")
    p.add_argument("--retrieval-only", action="store_true", help="skip generation (fast; no model needed)")
    p.add_argument("--pipeline", choices=["product", "naive"], default="product",
                   help="ours, or llama-index's plain default (dense top-2, generic prompt) as a baseline")
    p.add_argument("--out", type=Path, help="output directory (default eval/results/<timestamp>)")
    p.add_argument("--baseline", type=Path, help="an earlier run's directory, to add a comparison column")
    p.add_argument("--limit", type=_positive, help="only the first N questions")
    p.add_argument("--min-recall", type=_share, help="exit 1 if overall retrieval recall is below this")
    p.add_argument("--min-citation-precision", type=_share, help="exit 1 if citation precision is below this")
    p.add_argument("--min-refusal", type=_share, help="exit 1 if refusal accuracy (unanswerable) is below this")
    add_common(p)
    p.set_defaults(func=cmd_eval)
