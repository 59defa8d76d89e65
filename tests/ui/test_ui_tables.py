"""The review-table tab's turns, "More like this" and the evidence marks of the sources panel, on the real
corpus store with the registered fake backend; and the page builds with them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from assistant.answer.citations import check
from assistant.llms.fake import FakeBackend
from assistant.types import Answer, Source
from assistant.ui import render
from assistant.ui.tables import gather, make_table, more_like, source_choices, split_columns
from tests.support import scripted_app

LETI = "LeTI: Learning to Generate from Textual Interactions"


@pytest.fixture(scope="module")
def fake() -> FakeBackend:
    return FakeBackend()


@pytest.fixture(scope="module")
def app(built_store, embedder, fake):
    return scripted_app(built_store, embedder, fake)


def test_evidence_is_marked_in_the_panel_and_escaped():
    source = Source(1, "p", "T <b>", "https://a", 0.5, "Intro <script>x</script>. LeTI learns from error messages "
                    "of a Python interpreter. Other things.")
    checked = check("LeTI learns from the error messages of a Python interpreter [1].", [source])
    answer = Answer("q", checked.text, False, checked.citations, [source], "m")
    panel = render.sources_html([source], answer)
    assert ('<mark class="pa-ev pa-ev-1" title="what [1] is cited for">LeTI learns from error messages of a Python '
            "interpreter.</mark>") in panel
    assert "<script>" not in panel and "&lt;script&gt;" in panel
    assert 'body:has(#pa-chat a[href="#src-1"]:hover) #src-1 mark.pa-ev' in render.CSS


def test_table_tab_gathers_papers_and_streams_rows_to_files(app, fake):
    chosen, line = gather(app, {}, search="textual feedback Python interpreter code generation")
    assert line.startswith("Added") and any(t == LETI for t in chosen.values())
    leti = next(p for p, t in chosen.items() if t == LETI)
    fake.enqueue("task: code generation\ndataset: GSM8K")
    steps = list(make_table(app, [leti], "task, dataset", "scripted"))
    assert steps[0][1] == "0 of 1 rows…" and steps[0][2] is None
    html, progress, files = steps[-1]
    assert progress.startswith("Done: 1 rows") and "code generation" in html
    assert 'class="pa-ns" title="refused: names GSM8K, which the abstract does not (GSM8K)"' in html
    rows = list(csv.reader(Path(files[0]).read_text(encoding="utf-8").splitlines()))
    assert rows[1][1] == LETI and rows[1][3] == "code generation" and rows[1][5] == "not stated"
    assert Path(files[1]).read_text(encoding="utf-8").startswith("| Paper | task | dataset |")


def test_table_tab_says_what_is_wrong(app):
    [(_html, progress, files)] = list(make_table(app, ["pnope"], "task", "scripted"))
    assert "no paper with this id or title" in progress and files is None


def test_papers_of_the_last_answer_and_more_like_this(app):
    hits = app.retriever.search("textual feedback Python interpreter", 3)
    urls = {i: h.url for i, h in enumerate(hits, 1)}
    chosen, _ = gather(app, {}, urls=urls)
    assert list(chosen) == [h.paper_id for h in hits]
    assert [pid for _, pid in source_choices(app, urls)] == list(chosen)
    again, line = gather(app, chosen, ids=[hits[0].paper_id, "pnope"])  # the paper open in the Papers tab
    assert again == chosen and line == "Added 0 paper(s)."
    assert list(gather(app, {}, ids=[hits[1].paper_id])[0]) == [hits[1].paper_id]
    html = more_like(app, hits[0].paper_id)
    assert f"Papers like <b>{render.html.escape(hits[0].title)}</b>" in html and html.count("<li") == 5
    assert split_columns("task, dataset\nmodel size") == ["task", "dataset", "model size"]


def test_page_builds_with_the_table_tab(app):
    from assistant.ui.page import build_app

    demo = build_app(app)
    ids = {getattr(b, "elem_id", None) for b in demo.blocks.values()}
    assert {"pa-t-table", "pa-t-papers", "pa-t-open", "pa-related", "pa-src-pick"} <= ids
