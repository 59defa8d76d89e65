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

from assistant.cli.common import UsageError, add_common, settings_from
from assistant.evals import TYPES

SPLITS = ("dev", "test", "generated")
EVAL_DIR = Path("eval")  # the question splits, relative to the working directory (the repository)
THRESHOLDS = {"min_recall": "recall", "min_citation_precision": "citation_precision",
              "min_refusal": "refusal_accuracy"}  # flag -> overall metric


def cmd_eval(args: argparse.Namespace) -> int:
    if args.tables:
        return _tables(args)
    from assistant.app import build
    from assistant.evals.report import check_comparison_target, load_baseline, split_table, write_comparison

    splits = list(dict.fromkeys(args.split or ["dev"]))
    several = len(splits) > 1
    if several and (args.questions or args.baseline):
        raise UsageError("--split given more than once: --questions and --baseline compare one question set; "
                        "run the splits one at a time for them")
    if args.naive_k and args.pipeline != "naive":
        raise UsageError("--naive-k sets the naive baseline's k; add --pipeline naive (or use --k)")
    gate = args.gate or splits[0]
    if gate not in splits:
        raise UsageError(f"--gate {gate}: not one of the splits run ({', '.join(splits)})")
    model = settings_from(args).llm.backend
    # Nothing is generated in a retrieval-only run: do not load (or require) a model.
    settings = settings_from(args, llm={"backend": "extractive"}) if args.retrieval_only else settings_from(args)
    baseline = load_baseline(args.baseline) if args.baseline else None
    out = args.out or Path("eval") / "results" / time.strftime("%Y%m%d-%H%M%S")
    if several:
        check_comparison_target(out, splits)
    app = build(settings)
    subject = _subject(args, settings, app)
    meta = _meta(args, settings, model, subject)
    runs: dict[str, Any] = {}
    for split in splits:
        path = args.questions or EVAL_DIR / f"{split}.jsonl"
        runs[split] = _run_split(args, app, subject, path, None if args.questions else split, meta,
                                 out / split if several else out, baseline, show=not (several or args.json))
    if several:
        write_comparison(out, {s: r["metrics"] for s, r in runs.items()}, meta)
    if args.json:
        data = {s: {"meta": r["meta"], "metrics": r["metrics"], "out": r["out"]} for s, r in runs.items()}
        print(json.dumps(data if several else data[splits[0]], indent=2))
    elif several:
        print(split_table({s: r["metrics"] for s, r in runs.items()}, meta["k"]))
        print(f"\nthresholds checked on {gate}; reports in {out}/<split>/report.md, table in {out}/comparison.md")
    return _gate(args, runs[gate]["metrics"]["overall"])


def _tables(args: argparse.Namespace) -> int:
    """`eval --tables`: the reference cells' papers through the review table of --model, scored; with
    --evidence N, also the first N dev questions answered and each citation's evidence scored."""
    from assistant.answer.table import pick
    from assistant.app import build
    from assistant.evals.metrics import load_questions
    from assistant.evals.tables import evidence_records, load_reference, report_markdown, score_rows

    if args.retrieval_only or args.pipeline != "product" or args.split or args.baseline:
        raise UsageError("--tables runs the review tables alone: drop --retrieval-only, --pipeline, --split and "
                         "--baseline")
    app = build(settings_from(args))
    refs = load_reference(args.reference, app.store.titles())[: args.limit]
    columns = list(refs[0].cells)
    options = app.pipeline.options()
    papers = pick(app.store, [r.title for r in refs])
    rows = []
    for row in app.tables.rows(papers, columns, options):
        rows.append(row)
        print(f"table row {row.n}/{len(papers)}: {row.seconds:.1f} s", file=sys.stderr)
    records, metrics = score_rows(refs, rows)
    meta = {"model": options.backend, "rows": len(rows), "columns": len(columns), "reference": str(args.reference),
            "when": time.strftime("%Y-%m-%d %H:%M:%S")}
    out = args.out or Path("eval") / "results" / time.strftime("tables-%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    report = {"meta": meta, "tables": metrics}
    with (out / "cells.jsonl").open("w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    text = report_markdown(metrics, records, meta)
    if args.evidence:
        questions = load_questions(EVAL_DIR / "dev.jsonl", app.store.titles())
        answerable = [q for q in questions if q.type != "unanswerable"][: args.evidence]
        answers = []
        for i, q in enumerate(answerable, 1):
            answers.append(app.pipeline.ask(q.question, options=options))
            print(f"evidence answer {i}/{len(answerable)}", file=sys.stderr)
        cited, evidence = evidence_records(answers)
        report["evidence"] = evidence
        with (out / "evidence.jsonl").open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in cited)
        text += "\n## Evidence per citation\n\n| metric | value |\n|---|---|\n" + "".join(
            f"| {k} | {v if not isinstance(v, float) else f'{v:.3f}'} |\n" for k, v in evidence.items())
    (out / "tables.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    (out / "tables.md").write_text(text, encoding="utf-8")
    print(json.dumps(report, indent=2) if args.json else text)
    print(f"report in {out}/tables.md", file=sys.stderr)
    return 0


def _subject(args: argparse.Namespace, settings: Any, app: Any) -> Any:
    if args.pipeline == "naive":
        from assistant.evals.naive import NaivePipeline

        return NaivePipeline(settings, app.store, app.embedder, app.backends.get(), k=args.naive_k)
    from assistant.evals.runner import ProductSubject

    return ProductSubject(app.pipeline)


def _meta(args: argparse.Namespace, settings: Any, model: str, subject: Any) -> dict[str, Any]:
    naive = args.pipeline == "naive"
    return {
        "pipeline": args.pipeline, "mode": "retrieval-only" if args.retrieval_only else "full",
        "model": "-" if args.retrieval_only else model,
        "k": subject.k if naive else settings.retrieval.k,
        # llama-index's similarity_top_k counts chunks (a paper may fill several); ours counts papers.
        "k_counts": "chunks" if naive else "papers",
        "hybrid": settings.retrieval.hybrid and not naive,
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def _run_split(args: argparse.Namespace, app: Any, subject: Any, path: Path, split: str | None,
               meta: dict[str, Any], out: Path, baseline: Any, *, show: bool) -> dict[str, Any]:
    """One question file through the subject, the run written to `out`; with `show`, its table printed."""
    from assistant.evals.metrics import by_type, load_questions
    from assistant.evals.report import markdown_table, misses, write_run
    from assistant.evals.runner import run_all

    questions = load_questions(path, app.store.titles())
    if args.type:
        questions = [q for q in questions if q.type in args.type]
    questions = questions[: args.limit]
    rows = run_all(questions, subject, retrieval_only=args.retrieval_only, progress=True)
    metrics = by_type(rows)
    run_meta = {"questions": str(path), "split": split, "types": args.type, "n": len(questions), **meta}
    write_run(out, rows, metrics, run_meta, baseline)
    if show:
        print(markdown_table(metrics, baseline, meta["k"]))
        print(f"\n{len(misses(rows))} of {len(rows)} questions lost points; see {out}/report.md")
    return {"meta": run_meta, "metrics": metrics, "out": str(out)}


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
    p.add_argument("--split", choices=SPLITS, action="append",
                   help="question set: dev (tune on it), test (report only; never tune to it), generated (built "
                   "from the corpus by eval/generate.py); default dev. Give it more than once to run several "
                   "and print them side by side (runs in <out>/<split>/)")
    p.add_argument("--gate", choices=SPLITS,
                   help="the split the --min-* thresholds are checked on (default: the first --split)")
    p.add_argument("--questions", type=Path, help="a JSONL question file instead of a split")
    p.add_argument("--model", help="backend name (see `paper-assistant models`; default llm.backend)")
    p.add_argument("--k", type=_positive, help="number of sources (default retrieval.k)")
    p.add_argument("--retrieval-only", action="store_true", help="skip generation (fast; no model needed)")
    p.add_argument("--pipeline", choices=["product", "naive"], default="product",
                   help="ours, or llama-index's plain default query engine (dense top-k chunks, generic prompt) "
                   "as a baseline")
    p.add_argument("--naive-k", type=_positive,
                   help="chunks the naive baseline retrieves (default retrieval.k, as ours; llama-index's own "
                   "default is 2)")
    p.add_argument("--out", type=Path, help="output directory (default eval/results/<timestamp>)")
    p.add_argument("--baseline", type=Path, help="an earlier run's directory, to add a comparison column")
    p.add_argument("--type", choices=TYPES, action="append",
                   help="only questions of this type (give it more than once for several); --limit counts after it")
    p.add_argument("--limit", type=_positive, help="only the first N questions")
    p.add_argument("--tables", action="store_true", help="the review-table eval instead: the hand-written cells "
                   "of --reference through `table` with --model; cell and not-stated accuracy, seconds per row "
                   "(--limit: the first N papers)")
    p.add_argument("--reference", type=Path, default=EVAL_DIR / "tables.jsonl",
                   help="reference cells for --tables (default eval/tables.jsonl)")
    p.add_argument("--evidence", type=_positive, metavar="N",
                   help="with --tables: also answer the first N answerable dev questions and score the evidence "
                   "sentences of their citations")
    p.add_argument("--min-recall", type=_share, help="exit 1 if overall retrieval recall is below this")
    p.add_argument("--min-citation-precision", type=_share, help="exit 1 if citation precision is below this")
    p.add_argument("--min-refusal", type=_share, help="exit 1 if refusal accuracy (unanswerable) is below this")
    add_common(p)
    p.set_defaults(func=cmd_eval)
