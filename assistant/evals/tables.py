"""The review-table eval: hand-written reference cells (`eval/tables.jsonl`), scored against the tables a backend
makes, and the evidence kept for each citation of eval answers.

A reference line is one paper: {"id", "title", "cells": {column: {"value": text or null, "keywords": [...]}}};
null means the abstract truly does not state it. A stated cell is right when the table states it and its value
holds every keyword (`metrics.keyword_found`: whole words, "a|b" either, "stem*"); a not-stated cell is right
when the table says "not stated". Running the tables is the caller's (`ReviewTables.rows`); this scores rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.answer.citations import MARKER, parse_marker, source_sentences
from assistant.answer.table import Row
from assistant.evals.metrics import EvalError, keyword_found, mean, percentile
from assistant.ingest.corpus import normalise_title
from assistant.text import split_sentences
from assistant.types import Answer

KEYS = {"id", "title", "cells"}


@dataclass(frozen=True)
class RefCell:
    value: str | None  # None: the abstract does not state it
    keywords: list[str]


@dataclass(frozen=True)
class RefRow:
    id: str
    title: str
    cells: dict[str, RefCell]  # column -> reference


def load_reference(path: Path, known_titles: Iterable[str] | None = None) -> list[RefRow]:
    """Read the reference cells; every row must name a title of the store (when `known_titles` is given) and
    use the same columns as the first row. Errors name the file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise EvalError(f"{path}: cannot read the reference cells ({e})") from e
    known = {normalise_title(t) for t in known_titles} if known_titles is not None else None
    rows: list[RefRow] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            raise EvalError(f"{where}: not valid JSON ({e.msg})") from e
        if not isinstance(data, dict) or set(data) != KEYS:
            raise EvalError(f"{where}: expected exactly the keys {sorted(KEYS)}")
        if known is not None and normalise_title(data["title"]) not in known:
            raise EvalError(f"{where}: title {data['title']!r} is not in the store")
        cells = {}
        for column, cell in data["cells"].items():
            if not isinstance(cell, dict) or set(cell) != {"value", "keywords"}:
                raise EvalError(f"{where}: cell {column!r}: expected {{\"value\", \"keywords\"}}")
            if cell["value"] is not None and not cell["keywords"]:
                raise EvalError(f"{where}: cell {column!r} states a value but gives no keywords to check it by")
            cells[column] = RefCell(cell["value"], [str(k).lower() for k in cell["keywords"]])
        if rows and list(cells) != list(rows[0].cells):
            raise EvalError(f"{where}: columns {list(cells)} differ from the first row's {list(rows[0].cells)}")
        rows.append(RefRow(str(data["id"]), str(data["title"]), cells))
    if not rows:
        raise EvalError(f"{path}: no reference rows (expected one JSON object per line)")
    return rows


def score_cell(reference: RefCell, value: str, stated: bool) -> bool:
    if reference.value is None:
        return not stated
    return stated and all(keyword_found(k, value) for k in reference.keywords)


def score_rows(references: Sequence[RefRow], rows: Sequence[Row]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(one record per cell, the metrics): cell accuracy, accuracy on stated and on not-stated cells, how often
    a stated cell was answered "not stated" and the reverse, cells refused by the check, seconds per row."""
    records = []
    for ref, row in zip(references, rows, strict=True):
        for cell in row.cells:
            expected = ref.cells[cell.column]
            records.append({"id": ref.id, "title": ref.title, "column": cell.column, "reference": expected.value,
                            "keywords": expected.keywords, "value": cell.value, "stated": cell.stated,
                            "refused": cell.refused, "proposed": cell.proposed, "evidence": cell.evidence,
                            "correct": score_cell(expected, cell.value, cell.stated)})
    absent = [r for r in records if r["reference"] is None]
    present = [r for r in records if r["reference"] is not None]
    seconds = [row.seconds for row in rows]
    metrics = {
        "rows": len(rows), "cells": len(records),
        "cell_accuracy": mean(r["correct"] for r in records),
        "stated_accuracy": mean(r["correct"] for r in present),
        "not_stated_accuracy": mean(r["correct"] for r in absent),
        "not_stated_cells": len(absent),
        "missed_as_not_stated": sum(not r["stated"] for r in present),
        "invented_for_not_stated": sum(r["stated"] for r in absent),
        "refused_by_check": sum(r["refused"] is not None for r in records),
        "seconds_per_row": mean(seconds), "seconds_per_row_p90": percentile(seconds, 90),
    }
    return records, metrics


def evidence_records(answers: Sequence[Answer]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(one record per citation of the answers, the metrics). A record holds the claims citing the source, its
    evidence, and `evidence_correct`: known by construction when every claim quotes a sentence of the source
    word for word (the `extractive` backend's answers): right when the evidence is exactly the quoted
    sentences; else None, for judging by hand."""
    out = []
    for answer in answers:
        by_n = {s.n: s for s in answer.sources}
        units = split_sentences(answer.answer)
        for c in answer.citations:
            claims = [MARKER.sub("", u).strip() for u in units
                      if any(c.n in parse_marker(m.group(1)) for m in MARKER.finditer(u))]
            # A quoted claim may join several source sentences with "…", as a compacted source does.
            parts = [p for claim in claims for p in source_sentences(claim)]
            sentences = source_sentences(by_n[c.n].text) if c.n in by_n else []
            quoted = bool(parts) and all(p in sentences for p in parts)
            out.append({"question": answer.question, "model": answer.model, "n": c.n, "title": c.title,
                        "claims": claims, "evidence": c.evidence,
                        "evidence_correct": (set(c.evidence) == set(parts)) if quoted else None})
    judged = [r["evidence_correct"] for r in out if r["evidence_correct"] is not None]
    metrics = {"answers": len(answers), "citations": len(out), "judged": len(judged),
               "evidence_accuracy": mean(judged), "with_evidence": mean(bool(r["evidence"]) for r in out)}
    return out, metrics


def report_markdown(metrics: dict[str, Any], records: Sequence[dict[str, Any]], meta: dict[str, Any]) -> str:
    def fmt(v: Any) -> str:
        return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = [f"# Review-table eval: {meta['model']}", "",
             f"{meta['rows']} papers × {meta['columns']} columns from `{meta['reference']}`, {meta['when']}.", "",
             "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {fmt(v)} |" for k, v in metrics.items()]
    wrong = [r for r in records if not r["correct"]]
    lines += ["", f"## Cells wrong ({len(wrong)})", ""]
    lines += [f"- {r['id']} {r['column']}: expected {r['reference'] or 'not stated'!s}; got {r['value'][:120]!s}"
              + (f" (refused: {r['refused']}: {r['proposed']})" if r["refused"] else "") for r in wrong]
    return "\n".join(lines) + "\n"
