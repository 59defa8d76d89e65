"""Writes an eval run: report.md, results.jsonl, metrics.json and PNG plots, into a directory that appears whole.

Everything is written to a temp directory beside the target and renamed at the end, so a failed run leaves
nothing half-written. Reading an earlier run's metrics.json for --baseline is here too. No metrics math.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from assistant.evals.metrics import TYPES, EvalError

Metrics = dict[str, dict[str, Any]]  # {"factual": {...}, ..., "overall": {...}}

ROWS = [
    ("recall", "retrieval recall@k"), ("all_gold", "every gold paper in the sources (all-gold@k)"),
    ("intent_accuracy", "question kind detected"), ("mrr", "MRR"), ("sources", "papers in the sources"),
    ("citation_precision", "citation precision"), ("citation_recall", "citation recall"),
    ("invalid_markers", "invalid markers"), ("keyword_accuracy", "keyword accuracy"),
    ("refusal_accuracy", "refusal accuracy (unanswerable)"), ("false_refusals", "false refusals (answerable)"),
    ("errors", "errors"),
    ("retrieve_p50", "retrieval p50 (s)"), ("retrieve_p95", "retrieval p95 (s)"),
    ("first_token_p50", "first token p50 (s)"), ("first_token_p95", "first token p95 (s)"),
    ("total_p50", "total p50 (s)"), ("total_p95", "total p95 (s)"),
]
PER_TYPE_ROWS = ("recall", "all_gold", "intent_accuracy", "keyword_accuracy")  # in the split comparison
PLOTS = (("per_type.png", "Per question type"), ("recall_at_k.png", "Recall@k"), ("latency.png", "Latency"))


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _label(label: str, k: int | None) -> str:
    return label.replace("@k", f"@{k}") if k else label


def markdown_table(metrics: Metrics, baseline: Metrics | None = None, k: int | None = None) -> str:
    """Metrics per type (columns) and, with a baseline, its overall value and the difference."""
    types = list(metrics)
    head = ["metric", *types] + (["baseline (overall)", "Δ"] if baseline else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, label in ROWS:
        if all(metrics[t].get(key) is None for t in types):
            continue
        cells = [_label(label, k), *(_fmt(metrics[t].get(key)) for t in types)]
        if baseline:
            ours, theirs = metrics["overall"].get(key), baseline.get("overall", {}).get(key)
            both = isinstance(ours, int | float) and isinstance(theirs, int | float)
            cells += [_fmt(theirs), f"{ours - theirs:+.3f}" if both else "–"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def split_table(runs: dict[str, Metrics], k: int | None = None) -> str:
    """Several splits side by side (a column each): every overall metric, then the retrieval and question-kind
    metrics per question type, so dev and test can be read on one line."""
    splits = list(runs)
    lines = ["| metric | " + " | ".join(splits) + " |", "|" + "---|" * (len(splits) + 1)]

    def row(label: str, values: list[Any]) -> None:
        if any(v is not None for v in values):
            lines.append("| " + " | ".join([label, *map(_fmt, values)]) + " |")

    row("questions", [runs[s]["overall"].get("questions") for s in splits])
    for key, label in ROWS:
        row(_label(label, k), [runs[s]["overall"].get(key) for s in splits])
    labels = dict(ROWS)
    for question_type in TYPES:
        for key in PER_TYPE_ROWS:
            row(f"{question_type}: {_label(labels[key], k)}",
                [runs[s].get(question_type, {}).get(key) for s in splits])
    return "\n".join(lines)


def misses(rows: list[dict[str, Any]]) -> list[str]:
    """One line per question that lost points, to read before changing anything."""
    out = []
    for r in rows:
        s, why = r["scores"], []
        if r.get("error"):
            why.append(f"error: {r['error']}")
        if r["type"] == "unanswerable":
            if not s["refused"]:
                why.append("not refused")
        else:
            if s.get("recall", 1) < 1:
                why.append(f"recall {s['recall']:.2f}")
            if s["refused"]:
                why.append("refused")
            if (s.get("keywords") or 0) < 1 and s.get("keywords") is not None and not s["refused"]:
                why.append(f"keywords {s['keywords']:.2f}")
            if s.get("citation_precision", 1) < 1:
                why.append(f"citation precision {s['citation_precision']:.2f}")
            if s.get("intent") == 0.0:
                why.append(f"asked as {r.get('kind')}")
        if why:
            out.append(f"- `{r['id']}` ({r['type']}) {r['question']} — {'; '.join(why)}")
    return out


def load_baseline(directory: Path) -> Metrics:
    path = directory / "metrics.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))["metrics"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise EvalError(f"--baseline {directory}: not an eval run ({path} unreadable: {e})") from e


def _plots(tmp: Path, rows: list[dict[str, Any]], metrics: Metrics, baseline: Metrics | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    types = [t for t in metrics if t != "overall"]
    keys = ["recall", "citation_recall", "keyword_accuracy", "refusal_accuracy"]
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(keys)
    for i, key in enumerate(keys):
        ax.bar([x + i * width for x in range(len(types))], [metrics[t].get(key) or 0 for t in types], width,
               label=key.replace("_", " "))
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(types))], types)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    ax.set_title(PLOTS[0][1])
    _save(fig, tmp / PLOTS[0][0])

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, m in (("this run", metrics), ("baseline", baseline or {})):
        curve = (m.get("overall") or {}).get("recall_at") or []
        if curve:
            ax.plot(range(1, len(curve) + 1), [c or 0 for c in curve], marker="o", label=name)
    ax.set_xlabel("k (papers retrieved)")
    ax.set_ylabel("recall of gold papers")
    ax.set_ylim(0, 1.05)
    ax.legend()
    ax.set_title(PLOTS[1][1])
    _save(fig, tmp / PLOTS[1][0])

    key = "total" if any(r["timings"].get("total") for r in rows) else "retrieve"
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist([r["timings"][key] for r in rows if r["timings"].get(key) is not None], bins=15)
    ax.set_xlabel(f"seconds per question ({key})")
    ax.set_ylabel("questions")
    ax.set_title(PLOTS[2][1])
    _save(fig, tmp / PLOTS[2][0])


def _save(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def report_text(rows: list[dict[str, Any]], metrics: Metrics, meta: dict[str, Any],
                baseline: Metrics | None = None) -> str:
    settings_line = ", ".join(f"{k}={v}" for k, v in meta.items())
    parts = [f"# Eval run\n\n{settings_line}\n", markdown_table(metrics, baseline, meta.get("k")), ""]
    parts += [f"![{caption}]({name})" for name, caption in PLOTS]
    lost = misses(rows)
    parts += ["", f"## Questions that lost points ({len(lost)} of {len(rows)})", "", *lost]
    return "\n".join(parts) + "\n"


def _check_target(out: Path) -> None:
    """Only an earlier eval run (or an empty directory) may be replaced: --out must never wipe other files."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "metrics.json").is_file())):
        raise EvalError(f"--out {out}: exists and is not an earlier eval run; choose a new directory")


def write_run(out: Path, rows: list[dict[str, Any]], metrics: Metrics, meta: dict[str, Any],
              baseline: Metrics | None = None) -> Path:
    _check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the run should look like any other directory
        with (tmp / "results.jsonl").open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        (tmp / "metrics.json").write_text(json.dumps({"meta": meta, "metrics": metrics}, indent=2),
                                          encoding="utf-8")
        _plots(tmp, rows, metrics, baseline)
        (tmp / "report.md").write_text(report_text(rows, metrics, meta, baseline), encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


COMPARISON = "comparison.json"  # marks a directory of per-split runs (written last)


def check_comparison_target(out: Path, splits: list[str]) -> None:
    """A multi-split run writes `out/<split>/` runs and a comparison beside them: `out` may be new, empty, or an
    earlier multi-split run; each split's directory must be replaceable by `write_run`."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / COMPARISON).is_file())):
        raise EvalError(f"--out {out}: exists and is not an earlier multi-split eval run; choose a new directory")
    for split in splits:
        _check_target(out / split)


def write_comparison(out: Path, runs: dict[str, Metrics], meta: dict[str, Any]) -> Path:
    """`out/comparison.md` (the side-by-side table) and `out/comparison.json` (meta and every split's metrics)."""
    out.mkdir(parents=True, exist_ok=True)
    settings_line = ", ".join(f"{k}={v}" for k, v in meta.items())
    text = f"# Eval run: {', '.join(runs)} side by side\n\n{settings_line}\n\n{split_table(runs, meta.get('k'))}\n"
    text += "\nEach split's full report: " + ", ".join(f"[{s}]({s}/report.md)" for s in runs) + "\n"
    (out / "comparison.md").write_text(text, encoding="utf-8")
    (out / COMPARISON).write_text(json.dumps({"meta": meta, "runs": runs}, indent=2), encoding="utf-8")
    return out
