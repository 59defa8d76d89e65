"""The comparison answer path: the prompt asks for a table, cells cite the right [n], citations map to papers."""

from __future__ import annotations

import pytest

from assistant.answer.pipeline import Pipeline
from assistant.llms.fake import FakeBackend
from assistant.llms.registry import BackendPool
from assistant.search.retriever import Retriever
from assistant.search.store import PaperStore
from assistant.text import split_sentences
from tests.support import make_settings


@pytest.fixture(scope="module")
def retriever(built_store, embedder):
    settings = make_settings(built_store)
    return Retriever(settings, PaperStore(settings), embedder)


def test_comparison_answer_renders_a_cited_table(retriever):
    fake = FakeBackend()
    pipeline = Pipeline(retriever.settings, retriever, BackendPool.of(fake))
    question = "How does LeTI differ from DePT?"
    retrieval = pipeline.retrieve(question)
    leti = next(h for h in retrieval.hits if h.title.startswith("LeTI"))
    dept = next(h for h in retrieval.hits if h.title.startswith("DePT"))
    n_leti = retrieval.hits.index(leti) + 1
    n_dept = retrieval.hits.index(dept) + 1
    fake.enqueue(
        f"| Aspect | LeTI [{n_leti}] | DePT [{n_dept}] |\n|---|---|---|\n"
        f"| Goal | learn from textual feedback [{n_leti}] | save memory and time over prompt tuning [{n_dept}] |\n"
        f"| Method | fine-tunes on error messages and programs [{n_leti}] | decomposes the soft prompt into a "
        f"shorter prompt and low-rank matrices [{n_dept}] |\n\n"
        f"LeTI learns from textual feedback of a Python interpreter [{n_leti}], while DePT decomposes the soft "
        f"prompt into low-rank matrices [{n_dept}]."
    )
    answer = pipeline.ask(question)
    system, user = fake.history[-1].messages
    assert "Fill in the table" in system["content"]
    assert f"| Aspect | LeTI [{n_leti}] | DePT [{n_dept}] |" in user["content"]  # the skeleton names the papers
    assert answer.kind == "comparison" and not answer.refused
    rows = [line for line in answer.answer.splitlines() if line.startswith("|")]
    assert len(rows) == 4
    for row in rows[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1].endswith(f"[{n_leti}]") and cells[2].endswith(f"[{n_dept}]")
    cited = {c.n: c.paper_id for c in answer.citations}
    assert cited == {n_leti: leti.paper_id, n_dept: dept.paper_id}
    assert all(c.supported for c in answer.citations)


def test_topic_answer_lists_papers_with_citations(retriever):
    fake = FakeBackend()
    pipeline = Pipeline(retriever.settings, retriever, BackendPool.of(fake))
    question = "Which papers study catastrophic forgetting?"
    sources = pipeline.sources_for(question, pipeline.retrieve(question))  # what the model is given
    fake.enqueue("\n".join(f"- {s.title}: {split_sentences(s.text)[0]} [{s.n}]" for s in sources[:4]))
    answer = pipeline.ask(question)
    assert answer.kind == "topic" and "one bullet per source" in fake.history[-1].messages[0]["content"]
    assert [c.n for c in answer.citations] == [1, 2, 3, 4]
