"""Review tables on the real corpus store and embedding model: the registered fake backend for the generative
path (scripted replies), the real `extractive` backend, and one slow row with the real default model."""

from __future__ import annotations

import csv
import io

import pytest

from assistant.answer.table import (
    MAX_PAPERS,
    NOT_STATED,
    Table,
    TableError,
    check_value,
    clean_columns,
    parse_reply,
    pick,
)
from assistant.app import build
from assistant.llms.fake import FakeBackend
from tests.support import make_settings, scripted_app

LETI = "LeTI: Learning to Generate from Textual Interactions"
SYNTHIE = "Exploiting Asymmetry for Synthetic Training Data Generation: SynthIE and the Case of Information Extraction"
COLUMNS = ["task", "dataset", "model size", "main result"]


@pytest.fixture(scope="module")
def fake() -> FakeBackend:
    return FakeBackend()


@pytest.fixture(scope="module")
def app(built_store, embedder, fake):
    return scripted_app(built_store, embedder, fake)


@pytest.fixture(scope="module")
def leti(app):
    return pick(app.store, [LETI])[0]


def test_pick_by_id_title_and_unique_part(app, leti):
    assert leti.title == LETI and leti.abstract and "MBPP" in leti.abstract
    by_id, by_part = pick(app.store, [leti.paper_id, "learning to generate from TEXTUAL interactions"])[0], \
        pick(app.store, ["Learning to Generate from Textual"])[0]
    assert by_id.paper_id == by_part.paper_id == leti.paper_id
    assert [p.paper_id for p in pick(app.store, [LETI, leti.paper_id])] == [leti.paper_id]  # once


@pytest.mark.parametrize(("refs", "message"), [
    (["no such paper at all xyz"], "'no such paper at all xyz': no paper"),
    (["language models"], "titles contain it"),
    ([], "no papers"),
])
def test_pick_names_the_bad_paper(app, refs, message):
    with pytest.raises(TableError, match=message):
        pick(app.store, refs)


def test_pick_refuses_more_than_the_most_papers(app):
    ids = sorted(app.store.paper_ids())[: MAX_PAPERS + 1]
    with pytest.raises(TableError, match=f"at most {MAX_PAPERS}"):
        pick(app.store, ids)


def test_columns_are_cleaned_and_bad_ones_named():
    assert clean_columns([" task ", "Task", "model   size", ""]) == ["task", "model size"]
    with pytest.raises(TableError, match="no columns"):
        clean_columns(["  "])
    with pytest.raises(TableError, match="'a: b'"):
        clean_columns(["a: b"])
    with pytest.raises(TableError, match="at most 8"):
        clean_columns([f"c{i}" for i in range(9)])


def test_check_value_refuses_numbers_and_names_the_abstract_lacks(leti):
    evidence, why = check_value("MBPP, a code generation dataset", leti.title, leti.abstract)
    assert why is None and evidence == [next(s for s in evidence if "On MBPP" in s)]
    assert evidence[0] in leti.abstract
    assert check_value("7B parameters", leti.title, leti.abstract)[1] == "names 7B, which the abstract does not"
    assert check_value("improves accuracy by 12.5%", leti.title, leti.abstract)[1].startswith("states 12.5")
    assert check_value("GSM8K math word problems", leti.title, leti.abstract)[1].startswith("names GSM8K")
    assert check_value("protein folding", leti.title, leti.abstract)[1] == \
        "the abstract does not hold most of its words"


def test_parse_reply_takes_names_rewordings_and_order():
    reply = ("Here is the row:\n1. **Task**: code generation [1]\nDataset used: MBPP\n"
             "- something else: 7B\nmain result: not stated")
    assert parse_reply(reply, COLUMNS) == {"task": "code generation", "dataset": "MBPP", "model size": "7B",
                                           "main result": "not stated"}
    assert parse_reply("no colon anywhere", COLUMNS) == {}


def test_generated_row_keeps_supported_cells_and_refuses_invented_ones(app, fake, leti):
    fake.history.clear()
    fake.enqueue("task: code generation [1]\ndataset: MBPP and HumanEval\nmodel size: 7B parameters\n"
                 "main result: not stated")
    options = app.pipeline.options(backend="scripted")
    [row] = list(app.tables.rows([leti], COLUMNS, options))
    cells = {c.column: c for c in row.cells}
    assert cells["task"].value == "code generation" and any("code generation" in e for e in cells["task"].evidence)
    assert cells["dataset"].stated and all(e in leti.abstract for e in cells["dataset"].evidence)
    assert not cells["model size"].stated and cells["model size"].proposed == "7B parameters"
    assert cells["model size"].refused == "names 7B, which the abstract does not"
    assert cells["main result"].value == NOT_STATED and cells["main result"].refused is None
    [request] = fake.history
    prompt = request.messages[1]["content"]
    assert "[1] " + LETI in prompt and leti.abstract in prompt and all(f"{c}:" in prompt for c in COLUMNS)
    assert row.model == "fake" and row.n == 1 and row.seconds >= 0


def test_rows_stream_one_prompt_per_paper(app, fake, leti):
    synthie = pick(app.store, [SYNTHIE])[0]
    fake.history.clear()
    fake.enqueue("task: code generation")
    fake.enqueue("task: closed information extraction\nmodel size: 220M and 770M parameters")
    rows = app.tables.rows([leti, synthie], ["task", "model size"], app.pipeline.options(backend="scripted"))
    first = next(rows)
    assert first.title == LETI and len(fake.history) == 1  # the first row is out before the second is asked
    second = next(rows)
    assert [c.value for c in second.cells] == ["closed information extraction", "220M and 770M parameters"]
    assert second.n == 2 and len(fake.history) == 2
    assert next(rows, None) is None


def test_extractive_takes_the_closest_sentence_or_not_stated(app, leti):
    row = next(app.tables.rows([leti], ["task", "hardware and GPU budget"],
                               app.pipeline.options(backend="extractive")))
    task, hardware = row.cells
    assert "code generation task" in task.value and task.evidence == [task.value] and task.value in leti.abstract
    assert hardware.value == NOT_STATED and row.model == "extractive"


def test_exports_csv_markdown_json(app, fake, leti):
    fake.enqueue("task: protein folding\ndataset: MBPP | HumanEval")
    rows = list(app.tables.rows([leti], ["task", "dataset"], app.pipeline.options(backend="scripted")))
    table = Table(["task", "dataset"], rows, "fake")
    parsed = list(csv.reader(io.StringIO(table.to_csv())))
    assert parsed[0] == ["n", "title", "url", "task", "task (evidence)", "dataset", "dataset (evidence)"]
    assert parsed[1][:4] == ["1", LETI, leti.url, NOT_STATED]  # protein folding is not the abstract's: refused
    assert parsed[1][5] == "MBPP | HumanEval" and "MBPP" in parsed[1][6]
    md = table.to_markdown()
    assert f"| [1] {LETI} | not stated | MBPP \\| HumanEval [1] |" in md and f"[1] {LETI}. {leti.url}" in md
    data = table.to_dict()
    assert data["rows"][0]["cells"][1]["evidence"] and data["rows"][0]["cells"][0]["refused"]


@pytest.mark.slow
def test_one_row_with_the_real_default_model(built_store, embedder):
    """The embedded default model fills one row: every stated cell passed the check and quotes its evidence."""
    app = build(make_settings(built_store), embedder=embedder)
    try:
        leti = pick(app.store, [LETI])[0]
        [row] = list(app.tables.rows([leti], COLUMNS, app.pipeline.options()))
    finally:
        app.close()
    assert [c.column for c in row.cells] == COLUMNS
    assert any(c.stated for c in row.cells)
    for cell in row.cells:
        if cell.stated:
            assert check_value(cell.value, leti.title, leti.abstract) == (cell.evidence, None)
            assert all(e in leti.abstract for e in cell.evidence)
