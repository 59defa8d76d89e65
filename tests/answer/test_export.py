"""Answers exported: Markdown with [n] and numbered references, BibTeX of the cited papers (parsed back with
bibtexparser: stable keys, the fields as imported), JSON, from Python and `ask --format`. Over a real store of
the sample library files, with the fake backend citing what the test scripts."""

from __future__ import annotations

import json

import bibtexparser
import pytest

from assistant.answer import export
from assistant.app import build
from assistant.cli.main import main
from assistant.ingest.corpus import read_paths
from assistant.ingest.index import ingest
from assistant.llms.fake import FakeBackend
from assistant.types import Answer, Citation, Source, StoredChunk
from tests.ingest.test_library import DATA, LETI, SAMPLES
from tests.support import make_settings

QUESTION = "How does LeTI use textual interactions?"


@pytest.fixture(scope="module")
def store(tmp_path_factory, embedder):
    path = tmp_path_factory.mktemp("export") / "index"
    ingest(read_paths([DATA / n for n in sorted(SAMPLES)]).papers, make_settings(path), embedder, progress=False)
    return path


@pytest.fixture(scope="module")
def app(store, embedder):
    return build(make_settings(store), backend=FakeBackend(), embedder=embedder)


def test_markdown_keeps_the_markers_and_lists_the_cited_references(app):
    answer = app.pipeline.ask(QUESTION)
    assert not answer.refused and answer.citations
    papers = app.store.first_chunks([s.paper_id for s in answer.sources])
    md = export.to_markdown(answer, papers)
    assert md.startswith(f"## {QUESTION}\n") and answer.answer.strip() in md
    n = answer.citations[0].n
    assert f"[{n}] Xingyao Wang et al. {LETI} (2023)." in md
    assert "https://doi.org/10.48550/arXiv.2305.10314" in md
    uncited = [s for s in answer.sources if s.n not in {c.n for c in answer.citations}]
    assert all(s.title not in md.split("**References**")[1] for s in uncited)


def test_bibtex_parses_back_with_the_imported_fields_and_stable_keys(app):
    answer = app.pipeline.ask(QUESTION)
    papers = app.store.first_chunks([s.paper_id for s in answer.sources])
    bib = export.to_bibtex(answer, papers)
    library = bibtexparser.parse_string(bib)
    assert not library.failed_blocks
    entry = {e["title"]: e for e in library.entries}[LETI]
    assert entry.key == "wang2023leti" == export.to_bibtex(app.pipeline.ask(QUESTION), papers).split("{")[1][:12]
    assert entry["author"] == "Xingyao Wang and Hao Peng and Reyhaneh Jabbarvand and Heng Ji"
    assert (entry["year"], entry["doi"], entry["eprint"]) == ("2023", "10.48550/arXiv.2305.10314", "2305.10314v2")


def _answer(titles: list[str]) -> Answer:
    sources = [Source(i, f"p{i}", t, f"https://example.org/{i}", 1.0, "text") for i, t in enumerate(titles, 1)]
    return Answer("q", " ".join(f"Claim [{s.n}]." for s in sources), False,
                  [Citation(s.n, s.paper_id, s.title, s.url, True) for s in sources], sources, "fake")


def test_keys_are_unique_and_special_characters_are_escaped():
    same = StoredChunk("c", "p", "Deep Nets", "", 0, "", authors=("Ann Smith",), year=2023)
    answer = _answer(["Deep Nets", "Deep Nets & 100% {Braces} $x_1$"])
    papers = {"p1": same, "p2": same}
    library = bibtexparser.parse_string(export.to_bibtex(answer, papers))
    assert [e.key for e in library.entries] == ["smith2023deep", "smith2023deepb"]
    assert not library.failed_blocks
    assert r"\&" in library.entries[1]["title"] and r"\{Braces\}" in library.entries[1]["title"]


def test_a_refusal_exports_no_references(app):
    answer = app.pipeline.ask("What is the boiling point of tungsten hexafluoride on Mars?")
    assert answer.refused and export.to_bibtex(answer, {}) == ""
    assert "**References**" not in export.to_markdown(answer, {})


def test_conversation_markdown_and_json_round_trip(app):
    first, second = app.pipeline.ask(QUESTION), app.pipeline.ask("What does GlórIA do for Portuguese?")
    md = export.conversation_markdown([first, second], {})
    assert md.index(QUESTION) < md.index("GlórIA do for Portuguese")
    back = export.answer_from_dict(json.loads(export.to_json(first)))
    assert back.to_dict() == first.to_dict()


def test_ask_formats_on_the_command_line(store, capsys):
    base = ["ask", "--store", str(store), "--model", "extractive"]
    assert main([*base, "--format", "bibtex", QUESTION]) == 0
    bib = bibtexparser.parse_string(capsys.readouterr().out)
    assert LETI in [e["title"] for e in bib.entries]
    assert main([*base, "--format", "markdown", QUESTION]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"## {QUESTION}") and "**References**" in out
    assert main([*base, "--format", "json", QUESTION]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["collection"] == "default" and data["filters"] is None
    assert main([*base, "--format", "json", "--since", "2024", "--until", "2020", QUESTION]) == 2
    assert "year_from 2024 is after year_to 2020" in capsys.readouterr().err
