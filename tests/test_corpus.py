"""The readers on the real Daily-Papers captures and on small bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.corpus import CorpusError, paper_id_for, paper_url, read_file, read_paths
from assistant.latex import clean_latex
from tests.conftest import CORPUS

COUNTS = {"000_7e1647b1c5aa1152.txt": 72, "001_07f6c70c59064733.txt": 294, "002_f398639f93e6417c.txt": 80,
          "003_230144e13d2678d9.txt": 67, "004_6c282fc0e72d1216.txt": 70}


@pytest.fixture(scope="module")
def result():
    return read_paths([CORPUS])


def test_entry_and_paper_counts(result):
    assert len(result.entries) == 583
    assert len(result.papers) == 511
    assert len(result.files) == 5


@pytest.mark.parametrize(("name", "count"), COUNTS.items())
def test_entries_per_capture(name, count):
    assert len(read_file(CORPUS / name)) == count


def test_no_boilerplate_survives(result):
    for p in result.entries:
        assert not p.title.startswith("Subscribe")
        assert "trending papers" not in p.title + p.abstract
        assert p.title != "byAK and the research community"
        assert 485 <= len(p.abstract) <= 1916 and len(p.title) < 300
    assert result.entries[72].title.startswith("GreaseLM: Graph REASoning")  # the glued first title of 001


def test_latex_escapes_become_text(result):
    titles = {p.title for p in result.papers}
    assert "GlórIA -- A Generative and Open Large Language Model for Portuguese" in titles
    abstracts = " ".join(p.abstract for p in result.papers)
    assert "TÜLU" in abstracts and 'T\\"ULU' not in abstracts
    assert "\\%" not in abstracts and "%" in abstracts


def test_author_count_and_date_of_a_known_entry():
    lines = read_file(CORPUS / "002_f398639f93e6417c.txt")
    lines_by_title = {p.title: p for p in lines}
    lines_ = lines_by_title["LiNeS: Post-training Layer Scaling Prevents Forgetting and Enhances Model Merging"]
    assert (lines_.author_count, lines_.published) == (6, "Oct 22, 2024")
    unirl = next(p for p in lines if p.title.startswith("UniRL"))
    assert (unirl.author_count, unirl.published) == (3, "May 29")  # "May 29 2": the trailing number is not a date
    assert lines[0].title == "A Survey on Post-training of Large Language Models" and lines[0].published is None


def test_ids_are_stable_and_links_search_arxiv(result):
    leti = next(p for p in result.papers if p.title.startswith("LeTI"))
    assert leti.paper_id == paper_id_for("LeTI: Learning to Generate from Textual Interactions") == "p" + \
        __import__("hashlib").sha256(b"leti learning to generate from textual interactions").hexdigest()[:12]
    assert leti.url == ("https://arxiv.org/search/?query=LeTI%3A+Learning+to+Generate+from+Textual+Interactions"
                        "&searchtype=title")
    assert all(p.url.startswith("https://arxiv.org/search/?query=") for p in result.papers)
    assert len({p.paper_id for p in result.papers}) == 511


def test_dedupe_keeps_first_and_fills_metadata(tmp_path):
    a = tmp_path / "a.jsonl"
    a.write_text(json.dumps({"title": "Same Paper", "abstract": "x" * 120}) + "\n"
                 + json.dumps({"title": "same  paper!", "abstract": "y" * 120, "year": 2023, "authors": ["A", "B"]})
                 + "\n")
    r = read_paths([a])
    assert len(r.entries) == 2 and len(r.papers) == 1
    assert r.papers[0].abstract == "x" * 120 and r.papers[0].published == "2023" and r.papers[0].author_count == 2


def test_direct_links_when_records_have_them():
    assert paper_url("T", arxiv_id="2305.10314") == "https://arxiv.org/abs/2305.10314"
    assert paper_url("T", arxiv_id="2305.10314", url="https://x.org/p") == "https://x.org/p"


def test_jsonl_json_and_csv_records(tmp_path):
    rec = {"title": "A <script>alert(1)</script> Title", "abstract": "An abstract " * 12, "authors": "A, B, C",
           "year": 2024, "arxiv_id": "2401.00001v2"}
    (tmp_path / "x.jsonl").write_text(json.dumps(rec) + "\n\n")
    (tmp_path / "y.json").write_text(json.dumps({"papers": [rec]}))
    (tmp_path / "z.csv").write_text('title,abstract,authors,year,arxiv_id\n"A <script>alert(1)</script> Title",'
                                    f'"{rec["abstract"]}","A, B, C",2024,2401.00001v2\n')
    for name in ("x.jsonl", "y.json", "z.csv"):
        [p] = read_file(tmp_path / name)
        assert p.title == "A <script>alert(1)</script> Title"  # kept as data; escaping is the UI's job
        assert (p.author_count, p.published, p.url) == (3, "2024", "https://arxiv.org/abs/2401.00001v2")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("e.jsonl", "", "e.jsonl: the file is empty"),
        ("e.txt", "\n\n  \n", "the file is empty"),
        ("x.pdf", "%PDF", "unknown format '.pdf'"),
        ("b.jsonl", '{"title": "A", "abstract": "B"}\n{"title": \n', "b.jsonl:2: invalid JSON"),
        ("m.jsonl", '{"title": "A"}\n', "m.jsonl:1: missing or empty 'abstract'"),
        ("k.jsonl", '{"title": "A", "abstarct": "B"}\n', "k.jsonl:1: unknown field(s) abstarct"),
        ("l.jsonl", '["title", "abstract"]\n', "l.jsonl:1: expected an object"),
        ("c.csv", "title,summary\nA,B\n", "c.csv:1: missing column(s) abstract"),
        ("d.csv", 'title,abstract\nA,"' + "b" * 50 + '",extra\n', "d.csv:2: more values than columns"),
        ("a.jsonl", '{"title": "A", "abstract": "B", "arxiv_id": "nope"}\n', "not an arXiv id"),
        ("t.txt", "A Title\n" + "An abstract. " * 20 + "\nDangling Title\n", "t.txt:3: title 'Dangling Title' has no"),
        ("s.txt", "A Title\nshort\n", "s.txt:1: title 'A Title' is followed by a 5-character"),
        ("u.txt", "x" * 400 + "\n", "u.txt:1: expected a paper title"),
        ("n.txt", "Subscribe\nnew\n", "no papers found"),
    ],
)
def test_bad_files_name_file_and_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(CorpusError) as err:
        read_file(path)
    assert message in str(err.value) and str(tmp_path) in str(err.value)


def test_missing_file_and_empty_directory(tmp_path):
    with pytest.raises(CorpusError, match="no such file"):
        read_paths([tmp_path / "nope.jsonl"])
    with pytest.raises(CorpusError, match=r"no \.txt, \.jsonl, \.json, \.csv files"):
        read_paths([tmp_path])


def test_not_utf8(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(CorpusError, match="not UTF-8"):
        read_file(p)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [('T\\"ULU 2', "TÜLU 2"), ("Gl\\'orIA", "GlórIA"), ("V\\~oro", "Võro"), ("up 5\\% and Q\\&A", "up 5% and Q&A"),
     ("see \\url{https://x.y}", "see https://x.y"), ("tasks, \\eg QA", "tasks, e.g. QA"),
     ("e.g.\\ relying", "e.g. relying"), ("One For All (\\textsc{Ofa})", "One For All (Ofa)"),
     ("we propose \\mname", "we propose \\mname"), ("named ``\\growlength''", "named “\\growlength”"),
     ("$\\sim$10x", "~10x"), ("plain text", "plain text")],
)
def test_clean_latex(raw, clean):
    assert clean_latex(raw) == clean


def test_files_are_read_in_sorted_order_from_directories(tmp_path: Path):
    (tmp_path / "b.jsonl").write_text(json.dumps({"title": "B", "abstract": "b" * 100}) + "\n")
    (tmp_path / "a.jsonl").write_text(json.dumps({"title": "A", "abstract": "a" * 100}) + "\n")
    (tmp_path / "notes.md").write_text("ignored")
    r = read_paths([tmp_path])
    assert [p.title for p in r.entries] == ["A", "B"] and [f.name for f in r.files] == ["a.jsonl", "b.jsonl"]
