"""The readers on the real Daily-Papers captures and on small bad files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from assistant.ingest.corpus import (
    CorpusError,
    clean_latex,
    normalise_title,
    paper_id_for,
    paper_url,
    read_file,
    read_paths,
)
from tests.support import CORPUS

COUNTS = {"000_7e1647b1c5aa1152.txt": 72, "001_07f6c70c59064733.txt": 294, "002_f398639f93e6417c.txt": 80,
          "003_230144e13d2678d9.txt": 67, "004_6c282fc0e72d1216.txt": 70}
HEADER_LINES = ("Get trending papers in your email inbox", "byAK and the research community", "Daily Papers")
ABSTRACT = "An abstract sentence that is long enough to be one. " * 3


@pytest.fixture(scope="module")
def result():
    return read_paths([CORPUS])


def test_entry_and_paper_counts(result):
    assert len(result.entries) == 583
    assert len(result.papers) == 511
    assert [f.name for f in result.files] == sorted(COUNTS)
    titles = [p.title for p in result.entries]
    assert sum(1 for t in set(titles) if titles.count(t) > 1) == 52


@pytest.mark.parametrize(("name", "count"), COUNTS.items())
def test_entries_per_capture(name, count):
    papers = read_file(CORPUS / name)
    assert len(papers) == count
    assert all(p.origin.startswith(f"{name}:") for p in papers)


def test_no_boilerplate_survives(result):
    for p in result.entries:
        assert not p.title.startswith("Subscribe")
        assert not any(h in p.title or h in p.abstract for h in HEADER_LINES)
        assert p.title not in ("new", "·") and not p.abstract.endswith("authors")
        assert 485 <= len(p.abstract) <= 1916 and len(p.title) < 300
    greaselm = result.entries[72]  # the first title of 001, glued to the header's "Subscribe"
    assert greaselm.title == "GreaseLM: Graph REASoning Enhanced Language Models for Question Answering"
    assert greaselm.origin == "001_07f6c70c59064733.txt:3"


def test_latex_escapes_become_text(result):
    by_title = {p.title: p for p in result.papers}
    # No title in the captures carries an escape; the abstracts do (T\"ULU, Gl\'orIA, \%, \url, \eg).
    tulu = by_title["Camels in a Changing Climate: Enhancing LM Adaptation with Tulu 2"].abstract
    assert tulu.startswith("Since the release of TÜLU [Wang et al., 2023b]") and "\\" not in tulu
    assert "GlórIA, a robust European Portuguese" in by_title[
        "GlórIA -- A Generative and Open Large Language Model for Portuguese"].abstract
    abstracts = " ".join(p.abstract for p in result.papers)
    for escape in ('T\\"ULU', "\\%", "\\url{", "\\eg", "\\'o", "\\&"):
        assert escape not in abstracts
    assert "\\mname" in abstracts  # a paper's own macro has no text meaning: kept verbatim


def test_author_count_and_date_of_known_entries():
    papers = read_file(CORPUS / "002_f398639f93e6417c.txt")
    by_title = {p.title: p for p in papers}
    lines = by_title["LiNeS: Post-training Layer Scaling Prevents Forgetting and Enhances Model Merging"]
    assert (lines.author_count, lines.published, lines.year) == (6, "Oct 22, 2024", 2024)
    unirl = next(p for p in papers if p.title.startswith("UniRL"))
    # "May 29 2": the trailing number is no date, and a date without a year leaves the year unknown
    assert (unirl.author_count, unirl.published, unirl.year) == (3, "May 29", None)
    assert papers[0].title == "A Survey on Post-training of Large Language Models" and papers[0].published is None
    assert sum(p.author_count is not None for p in papers) == 77  # one "·" line per author/date pair
    assert all(p.author_count is None and p.published is None for p in read_file(CORPUS / "000_7e1647b1c5aa1152.txt"))


def test_ids_are_stable_and_links_search_arxiv(result):
    leti = next(p for p in result.papers if p.title.startswith("LeTI"))
    assert leti.paper_id == paper_id_for("LeTI: Learning to Generate from Textual Interactions") == "pc1d802a363f9"
    expected = hashlib.sha256(b"leti learning to generate from textual interactions").hexdigest()[:12]
    assert leti.paper_id == "p" + expected
    assert leti.url == ("https://arxiv.org/search/?query=LeTI%3A+Learning+to+Generate+from+Textual+Interactions"
                        "&searchtype=title")
    assert all(p.url.startswith("https://arxiv.org/search/?query=") and p.url.endswith("&searchtype=title")
               for p in result.entries)
    assert len({p.paper_id for p in result.papers}) == 511


def test_normalise_title():
    assert normalise_title("  LeTI:  Learning—to Generate!  ") == "leti learning to generate"
    assert normalise_title("ＬｅＴＩ") == normalise_title("leti")  # NFKC folds full-width letters
    assert normalise_title("Straße") == normalise_title("STRASSE")
    assert paper_id_for("!!!") != paper_id_for("???")  # punctuation-only titles do not all collide


def test_dedupe_keeps_first_and_fills_metadata(tmp_path):
    a = tmp_path / "a.jsonl"
    a.write_text(json.dumps({"title": "Same Paper", "abstract": "x" * 120}) + "\n"
                 + json.dumps({"title": "same  paper!", "abstract": "y" * 120, "year": 2023, "authors": ["A", "B"],
                               "arxiv_id": "2305.10314"}) + "\n")
    r = read_paths([a, a, tmp_path])  # the same file named three ways is read once
    assert r.files == [a] and len(r.entries) == 2 and len(r.papers) == 1
    p = r.papers[0]
    assert (p.title, p.abstract, p.published, p.author_count, p.authors) == ("Same Paper", "x" * 120, "2023", 2, "A, B")
    assert (p.arxiv_id, p.url, p.origin) == ("2305.10314", "https://arxiv.org/abs/2305.10314", "a.jsonl:1")


@pytest.mark.parametrize(
    ("arxiv_id", "url"),
    [("2305.10314", "https://arxiv.org/abs/2305.10314"), ("2305.10314v2", "https://arxiv.org/abs/2305.10314v2"),
     ("arXiv:1501.0001", "https://arxiv.org/abs/1501.0001"), ("hep-th/9901001", "https://arxiv.org/abs/hep-th/9901001"),
     ("math.GT/0309136", "https://arxiv.org/abs/math.GT/0309136"),
     ("2313.10314", "https://arxiv.org/search/?query=A+%26+B%3F&searchtype=title"),  # month 13
     ("nope", "https://arxiv.org/search/?query=A+%26+B%3F&searchtype=title"), (None, None)],
)
def test_paper_url(arxiv_id, url):
    assert paper_url("A & B?", arxiv_id=arxiv_id) == (url or "https://arxiv.org/search/?query=A+%26+B%3F&searchtype=title")
    # An arXiv id is preferred to the record's own URL (which is often a PDF or a moving publisher page).
    assert paper_url("A & B?", arxiv_id=arxiv_id, url="https://x.org/p") == (
        url if url and "/abs/" in url else "https://x.org/p")


def test_jsonl_json_and_csv_records(tmp_path):
    rec = {"title": "A <script>alert(1)</script> Title", "abstract": "An abstract " * 12, "authors": "A, B, C",
           "year": 2024, "arxiv_id": "2401.00001v2"}
    (tmp_path / "x.jsonl").write_text(json.dumps(rec) + "\n\n")
    (tmp_path / "y.json").write_text(json.dumps({"papers": [rec]}))
    (tmp_path / "w.json").write_text(json.dumps([rec]))
    (tmp_path / "z.csv").write_text('title,abstract,authors,year,arxiv_id\n"A <script>alert(1)</script> Title",'
                                    f'"{rec["abstract"]}","A, B, C",2024,2401.00001v2\n')
    for name in ("x.jsonl", "y.json", "w.json", "z.csv"):
        [p] = read_file(tmp_path / name)
        assert p.title == "A <script>alert(1)</script> Title"  # kept as data; escaping is the UI's job
        assert (p.author_count, p.published, p.url) == (3, "2024", "https://arxiv.org/abs/2401.00001v2")
        assert p.abstract == rec["abstract"].strip()


def test_html_in_a_capture_is_kept_verbatim(tmp_path):
    path = tmp_path / "page.txt"
    path.write_text(f"Subscribe\nMar 14\n<script>alert('x')</script> & <b>Title</b>\n{ABSTRACT}\n")
    [p] = read_file(path)
    assert p.title == "<script>alert('x')</script> & <b>Title</b>" and p.origin == "page.txt:3"


def test_capture_without_blank_lines_and_with_metadata(tmp_path):
    path = tmp_path / "page.txt"
    path.write_text(f"SubscribeFirst Title\n{ABSTRACT}\n  • 1 author\n·\nAug 13\nSecond \\'Etude\n{ABSTRACT}\n")
    first, second = read_file(path)
    assert (first.title, first.author_count, first.published) == ("First Title", 1, "Aug 13")
    assert (second.title, second.author_count, second.origin) == ("Second Étude", None, "page.txt:6")


def test_csv_quoted_multiline_and_authors_list(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(f' title ,abstract,author_count\nOne,"{ABSTRACT}\nsecond line",4\nTwo,{ABSTRACT.strip()},\n')
    one, two = read_file(path)
    assert one.abstract.endswith("second line") and one.author_count == 4 and two.origin == "c.csv:4"
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"title": "T", "abstract": ABSTRACT, "authors": [" A ", "", "B"]}) + "\n")
    assert read_file(path)[0].authors == "A, B"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("e.jsonl", "", "e.jsonl: the file is empty"),
        ("e.txt", "\n\n  \n", "the file is empty"),
        ("x.pdf", "%PDF", "unknown format '.pdf'"),
        ("b.jsonl", '{"title": "A", "abstract": "B"}\n{"title": \n', "b.jsonl:2: invalid JSON"),
        ("b.json", '[{"title": "A",\n "abstract": "B"},\n]', "b.json:3: invalid JSON"),
        ("m.jsonl", '{"title": "A"}\n', "m.jsonl:1: missing or empty 'abstract'"),
        ("m.json", '[{"title": "A", "abstract": "B"}, {"abstract": "B"}]', "m.json: record 2: missing or empty"),
        ("o.json", '{"items": []}', "o.json:1: expected a list of papers"),
        ("k.jsonl", '{"title": "A", "abstarct": "B"}\n', "k.jsonl:1: unknown field(s) abstarct"),
        ("l.jsonl", '["title", "abstract"]\n', "l.jsonl:1: expected an object"),
        ("n.jsonl", '{"title": "A", "abstract": "B", "author_count": true}\n', "n.jsonl:1: 'author_count' must be"),
        ("f.jsonl", '{"title": "A", "abstract": "B", "author_count": Infinity}\n', "f.jsonl:1: 'author_count'"),
        ("g.jsonl", '{"title": "A", "abstract": "B", "authors": [1, 2]}\n', "g.jsonl:1: 'authors' must be"),
        ("h.jsonl", '{"title": "A", "abstract": "B", "url": "javascript:x"}\n', "h.jsonl:1: 'url' must start"),
        ("i.jsonl", '{"title": "A", "abstract": "B", "arxiv_id": 2305.1031}\n', "i.jsonl:1: 'arxiv_id' must be text"),
        ("j.jsonl", '{"title": "\\\\url{}", "abstract": "B"}\n', "j.jsonl:1: the title is empty"),
        ("c.csv", "title,summary\nA,B\n", "c.csv:1: missing column(s) abstract"),
        ("u.csv", "title,abstract,abstarct\nA,B,C\n", "u.csv:1: unknown column(s) 'abstarct'"),
        ("r.csv", "title,abstract,title\nA,B,C\n", "r.csv:1: column(s) title appear more than once"),
        ("d.csv", 'title,abstract\nA,"' + "b" * 50 + '",extra\n', "d.csv:2: more values than columns"),
        ("v.csv", "title,abstract\nA\n", "v.csv:2: missing or empty 'abstract'"),
        ("a.jsonl", '{"title": "A", "abstract": "B", "arxiv_id": "nope"}\n', "not an arXiv id"),
        ("t.txt", f"A Title\n{ABSTRACT}\n\nDangling Title\n", "t.txt:4: title 'Dangling Title' has no abstract"),
        ("s.txt", "A Title\nshort\n", "s.txt:1: title 'A Title' is followed by a 5-character"),
        ("w.txt", f"A Title\nAnother Title\n{ABSTRACT}\n", "w.txt:1: title 'A Title' is followed by a 13-character"),
        ("u.txt", "x" * 400 + "\n", "u.txt:1: expected a paper title"),
        ("m.txt", f"A Title\n{ABSTRACT * 2}\n{ABSTRACT * 2}\n", "m.txt:3: expected a paper title"),
        ("q.txt", f"A Title\nOct 22, 2024\n{ABSTRACT}\n", "q.txt:2: a date where the abstract"),
        ("p.txt", "  • 6 authors\nA Title\n", "p.txt:1: an author count with no abstract"),
        ("n.txt", "Subscribe\nnew\nMar 14\n", "no papers found"),
    ],
)
def test_bad_files_name_file_and_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(CorpusError) as err:
        read_file(path)
    assert message in str(err.value) and str(err.value).startswith(str(path))


def test_missing_file_directory_and_empty_directory(tmp_path):
    for missing in (tmp_path / "nope.jsonl", tmp_path / "nope"):
        with pytest.raises(CorpusError, match="no such file"):
            read_paths([missing])
    with pytest.raises(CorpusError, match="is a directory"):
        read_file(tmp_path)
    with pytest.raises(CorpusError, match=r"no \.txt, \.jsonl, \.json, \.csv files"):
        read_paths([tmp_path])


def test_not_utf8(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(CorpusError, match="not UTF-8"):
        read_file(p)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [('T\\"ULU 2', "TÜLU 2"), ('T\\"{U}LU', "TÜLU"), ('{\\"u}ber', "über"), ("Gl\\'orIA", "GlórIA"),
     ("Gl\\'{o}rIA", "GlórIA"), ("V\\~oro", "Võro"), ("\\`a la", "à la"), ("\\^ete", "ête"),
     ("Fran\\c{c}ais", "Français"), ("Fran\\c cais", "Français"),
     ('na\\"\\i ve', "naïve"), ("up 5\\% and Q\\&A", "up 5% and Q&A"), ("a\\_b", "a_b"),
     ("see \\url{https://x.y}", "see https://x.y"), ("tasks, \\eg QA", "tasks, e.g. QA"), ("\\ie, QA", "i.e., QA"),
     ("e.g.\\ relying", "e.g. relying"), ("One For All (\\textsc{Ofa})", "One For All (Ofa)"),
     ("\\emph{very} \\textbf{bold}", "very bold"), ("\\textbf{\\emph{T\\\"ULU}}", "TÜLU"),
     ("we propose \\mname", "we propose \\mname"), ("named ``\\growlength''", "named “\\growlength”"),
     ("$\\sim$10x", "~10x"), ("costs $5 and $x^2$", "costs $5 and $x^2$"), ("plain text", "plain text"),
     ("C:\\path\\to", "C:\\path\\to")],
)
def test_clean_latex(raw, clean):
    assert clean_latex(raw) == clean


def test_files_are_read_in_sorted_order_from_directories(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "b.jsonl").write_text(json.dumps({"title": "B", "abstract": "b" * 100}) + "\n")
    (tmp_path / "sub" / "c.JSON").write_text(json.dumps([{"title": "C", "abstract": "c" * 100}]))
    (tmp_path / "a.jsonl").write_text(json.dumps({"title": "A", "abstract": "a" * 100}) + "\n")
    (tmp_path / ".hidden" / "x.jsonl").write_text("not read")
    (tmp_path / "notes.md").write_text("ignored")
    r = read_paths([tmp_path])
    assert [p.title for p in r.entries] == ["A", "B", "C"]
    assert [f.relative_to(tmp_path).as_posix() for f in r.files] == ["a.jsonl", "b.jsonl", "sub/c.JSON"]
    assert r.entries[2].origin == "c.JSON#1"
