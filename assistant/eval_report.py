"""Writes an eval run: report.md, results.jsonl, metrics.json and PNG plots, into a directory that appears whole.

Everything is written to a temp directory beside the target and renamed at the end, so a failed run leaves
nothing half-written. Reading an earlier run's metrics.json for --baseline is here too.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

ROWS = [
    ("recall", "retrieval recall@k"), ("all_gold", "all gold retrieved"), ("mrr", "MRR"),
    ("citation_precision", "citation precision"), ("citation_recall", "citation recall"),
    ("invalid_markers", "invalid markers"), ("keyword_accuracy", "keyword accuracy"),
    ("refusal_accuracy", "refusal accuracy (unanswerable)"), ("false_refusals", "false refusals (answerable)"),
    ("retrieve_p50", "retrieval p50 (s)"), ("retrieve_p95", "retrieval p95 (s)"),
    ("first_token_p50", "first token p50 (s)"), ("first_token_p95", "first token p95 (s)"),
    ("total_p50", "total p50 (s)"), ("total_p95", "total p95 (s)"),
]


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown_table(metrics: dict[str, dict[str, Any]], baseline: dict[str, dict[str, Any]] | None = None) -> str:
    types = list(metrics)
    head = ["metric", *types] + (["baseline (overall)", "Δ"] if baseline else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, label in ROWS:
        if all(metrics[t].get(key) is None for t in types):
            continue
        cells = [label, *(_fmt(metrics[t].get(key)) for t in types)]
        if baseline:
            ours, theirs = metrics["overall"].get(key), baseline.get("overall", {}).get(key)
            delta = ours - theirs if isinstance(ours, int | float) and isinstance(theirs, int | float) else None
            cells += [_fmt(theirs), _fmt(delta if delta is None else round(delta, 4))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def load_baseline(directory: Path) -> dict[str, dict[str, Any]]:
    from assistant.evaluation import EvalError

    try:
        return json.loads((directory / "metrics.json").read_text())["metrics"]
    except (OSError, ValueError, KeyError) as e:
        raise EvalError(f"{directory}: not an eval run (need its metrics.json): {e}") from e


def _plots(tmp: Path, rows: list[dict], metrics: dict[str, dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    types = [t for t in metrics if t != "overall"]
    fig, ax = plt.subplots(figsize=(8, 4))
    keys = ["recall", "citation_recall", "keyword_accuracy", "refusal_accuracy"]
    width = 0.8 / len(keys)
    for i, key in enumerate(keys):
        ax.bar([x + i * width for x in range(len(types))], [metrics[t].get(key) or 0 for t in types], width,
               label=key)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(types))], types)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    ax.set_title("Per question type")
    fig.tight_layout()
    fig.savefig(tmp / "per_type.png", dpi=100)
    plt.close(fig)

    curve = metrics["overall"].get("recall_at") or []
    if curve:
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(range(1, len(curve) + 1), [c or 0 for c in curve], marker="o")
        ax.set_xlabel("k (papers retrieved)")
        ax.set_ylabel("recall of gold papers")
        ax.set_ylim(0, 1.05)
        ax.set_title("Recall@k")
        fig.tight_layout()
        fig.savefig(tmp / "recall_at_k.png", dpi=100)
        plt.close(fig)

    totals = [r["timings"].get("total") or r["timings"].get("retrieve") for r in rows if r["timings"]]
    if totals:
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.hist([t for t in totals if t is not None], bins=15)
        ax.set_xlabel("seconds per question")
        ax.set_title("Latency")
        fig.tight_layout()
        fig.savefig(tmp / "latency.png", dpi=100)
        plt.close(fig)


def write_run(out: Path, rows: list[dict], metrics: dict[str, dict[str, Any]], meta: dict[str, Any],
              baseline: dict[str, dict[str, Any]] | None = None) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        with (tmp / "results.jsonl").open("w") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        (tmp / "metrics.json").write_text(json.dumps({"meta": meta, "metrics": metrics}, indent=2))
        _plots(tmp, rows, metrics)
        settings_line = ", ".join(f"{k}={v}" for k, v in meta.items())
        report = [f"# Eval run\n\n{settings_line}\n", markdown_table(metrics, baseline), ""]
        for name, caption in (("per_type.png", "Per type"), ("recall_at_k.png", "Recall@k"),
                              ("latency.png", "Latency")):
            if (tmp / name).exists():
                report.append(f"![{caption}]({name})")
        (tmp / "report.md").write_text("\n".join(report) + "\n")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
