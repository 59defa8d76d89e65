"""The review-table eval: the hand-written reference cells are real and well formed, and scoring counts right."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answer.table import NOT_STATED, Cell, Row
from assistant.evals.metrics import EvalError
from assistant.evals.tables import evidence_records, load_reference, score_rows
from assistant.types import Answer, Citation, Source
from tests.support import ROOT

REFERENCE = ROOT / "eval" / "tables.jsonl"


def test_reference_cells_cover_enough_real_papers(corpus_papers):
    refs = load_reference(REFERENCE, [p.title for p in corpus_papers])
    cells = [c for r in refs for c in r.cells.values()]
    assert len(refs) >= 8 and len(refs[0].cells) >= 4 and len(cells) >= 30
    assert sum(c.value is None for c in cells) >= 5  # some cells are truly not stated
    # A stated cell's keywords are in its paper's abstract (or title): the reference was read from them.
    from assistant.evals.metrics import keyword_found

    text = {p.title: f"{p.title} {p.abstract}" for p in corpus_papers}
    for r in refs:
        for column, cell in r.cells.items():
            assert all(keyword_found(k, text[r.title]) for k in cell.keywords), (r.id, column)


@pytest.mark.parametrize(("line", "message"), [
    ('{"id": "x", "title": "T"}', "exactly the keys"),
    ('{"id": "x", "title": "Nope", "cells": {}}', "not in the store"),
    ('{"id": "x", "title": "T", "cells": {"task": {"value": "a", "keywords": []}}}', "gives no keywords"),
    ("{bad", "not valid JSON"),
])
def test_bad_reference_lines_are_named(tmp_path: Path, line, message):
    path = tmp_path / "ref.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(EvalError, match=f"{path}:1: .*{message}|{path}:1: {message}"):
        load_reference(path, ["T"])


def test_scoring_cells(tmp_path: Path):
    path = tmp_path / "ref.jsonl"
    path.write_text('{"id": "a", "title": "T", "cells": {"task": {"value": "code", "keywords": ["code gen*"]}, '
                    '"size": {"value": null, "keywords": []}}}\n')
    refs = load_reference(path)
    good = Row(1, "p", "T", "u", [Cell("task", "code generation", ["s"]), Cell("size", NOT_STATED)], seconds=2.0)
    bad = Row(1, "p", "T", "u", [Cell("task", NOT_STATED, refused="x", proposed="y"), Cell("size", "7B")],
              seconds=4.0)
    _records, m = score_rows(refs, [good])
    assert m["cell_accuracy"] == 1.0 and m["not_stated_accuracy"] == 1.0 and m["seconds_per_row"] == 2.0
    records, m = score_rows(refs, [bad])
    assert m["cell_accuracy"] == 0.0 and m["missed_as_not_stated"] == 1 and m["invented_for_not_stated"] == 1
    assert m["refused_by_check"] == 1 and [r["correct"] for r in records] == [False, False]


def test_evidence_is_judged_by_construction_for_quoted_claims():
    text = "We build X. X is fast. Y is slow."
    source = Source(1, "p", "T", "u", 1.0, text)
    quoted = Answer("q", "X is fast [1].", False, [Citation(1, "p", "T", "u", True, ["X is fast."])], [source], "m")
    wrong = Answer("q", "X is fast [1].", False, [Citation(1, "p", "T", "u", True, ["We build X."])], [source], "m")
    free = Answer("q", "X runs quickly [1].", False, [Citation(1, "p", "T", "u", True, ["X is fast."])], [source],
                  "m")
    joined = Answer("q", "We build X. … Y is slow [1].", False,
                    [Citation(1, "p", "T", "u", True, ["We build X.", "Y is slow."])], [source], "m")
    records, m = evidence_records([quoted, wrong, free, joined])
    assert [r["evidence_correct"] for r in records] == [True, False, None, True]
    assert m["citations"] == 4 and m["judged"] == 3 and m["evidence_accuracy"] == round(2 / 3, 4)
