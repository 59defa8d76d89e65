"""The researcher's-library readers on real exports (Zotero BibTeX, RIS, CSL JSON, an arXiv API response, a
zotero.sqlite) and on broken ones: fields, skipped entries, links, dedupe across formats, and a Zotero database
that is never changed and can be read while Zotero holds its lock."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from assistant.ingest.corpus import CorpusError, dedupe, read_entries, read_file, read_paths
from assistant.ingest.readers.base import paper_url
from tests.support import ROOT

DATA = ROOT / "tests" / "data"
BAD = DATA / "malformed"
SAMPLES = {"library.bib": (6, 1), "library.ris": (4, 1), "library.json": (5, 1), "arxiv.atom": (5, 0),
           "zotero": (5, 2)}  # name -> (papers, entries skipped for lack of an abstract)
LETI = "LeTI: Learning to Generate from Textual Interactions"


def by_title(name: str) -> dict:
    return {p.title: p for p in read_file(DATA / name)}


@pytest.mark.parametrize(("name", "counts"), SAMPLES.items())
def test_each_sample_reads_its_papers_and_names_what_it_skips(name, counts):
    papers, skipped = read_entries(DATA / name)
    assert (len(papers), len(skipped)) == counts
    for p in papers:
        assert p.title and len(p.abstract) > 400 and p.author_names and p.year and p.url.startswith("https://")
        assert "\\" not in p.title + p.abstract + " ".join(p.author_names) and "{" not in p.title
    for s in skipped:
        assert s.reason == "no abstract" and s.title and s.where.startswith(str(DATA))


def test_bibtex_fields_accents_and_braces():
    papers = by_title("library.bib")
    leti = papers[LETI]  # {LeTI:} {Learning} to {Generate} ... in the file
    assert leti.author_names == ("Xingyao Wang", "Hao Peng", "Reyhaneh Jabbarvand", "Heng Ji")
    assert (leti.published, leti.year, leti.doi, leti.arxiv_id) == ("May 2023", 2023, "10.48550/arXiv.2305.10314",
                                                                     "2305.10314")
    assert leti.keywords == ("Computer Science - Computation and Language",
                             "Computer Science - Artificial Intelligence")
    assert leti.url == "https://doi.org/10.48550/arXiv.2305.10314" and leti.origin == "library.bib:1"
    sparse = papers["Composable Sparse Fine-Tuning for Cross-Lingual Transfer"]
    assert sparse.author_names[-1] == "Ivan Vulić" and sparse.venue.startswith("Proceedings of the 60th Annual")
    gloria = papers["GlórIA -- A Generative and Open Large Language Model for Portuguese"]  # Gl{\'o}rIA
    assert gloria.author_names[1] == "João Magalhães"
    tulu = papers["Camels in a Changing Climate: Enhancing LM Adaptation with Tulu 2"]
    assert 'T{\\"U}LU' in (DATA / "library.bib").read_text() and tulu.abstract.startswith("Since the release of TÜLU")
    assert papers["Language Models are Few-Shot Learners"].author_count == 31
    [book] = read_entries(DATA / "library.bib")[1]
    assert (book.where, book.title) == (f"{DATA / 'library.bib'}:83", "Speech and language processing: an "
                                        "introduction to natural language processing, computational linguistics, "
                                        "and speech recognition")


def test_ris_fields():
    papers = by_title("library.ris")
    bio = papers["Fine-Tuning Large Neural Language Models for Biomedical Natural Language Processing"]
    assert (bio.venue, bio.doi, bio.published, bio.year) == ("Patterns", "10.1016/j.patter.2023.100729",
                                                             "2023/04/14", 2023)
    assert bio.author_names[0] == "Robert Tinn" and bio.keywords == ("biomedical NLP",)
    unified = papers["Towards a Unified View of Parameter-Efficient Transfer Learning"]
    assert unified.venue == "International Conference on Learning Representations"  # C3 of a CONF record
    assert unified.url == "https://openreview.net/forum?id=0RDcd5Axok"  # no DOI, no arXiv id: the record's URL
    assert papers[LETI].arxiv_id == "2305.10314" and papers[LETI].origin == "library.ris:1"


def test_csl_json_fields_and_lines():
    papers = by_title("library.json")
    editing = papers["Model Editing with Canonical Examples"]
    assert (editing.arxiv_id, editing.published, editing.year) == ("2402.06155", "2024-02-09", 2024)
    assert editing.author_names[2] == "Lanruo Lora Xie"
    vl = papers["VL-Adapter: Parameter-Efficient Transfer Learning for Vision-and-Language Tasks"]
    assert vl.venue.startswith("Proceedings of the IEEE/CVF") and vl.url.startswith("https://openaccess.thecvf")
    assert vl.origin == "library.json:2"  # the line the item starts on
    gpt3 = papers["Language Models are Few-Shot Learners"]
    assert gpt3.url.startswith("https://arxiv.org/search/")  # no DOI, arXiv id or URL in this record


def test_csl_is_told_apart_from_our_own_json_records(tmp_path):
    ours = tmp_path / "ours.json"
    ours.write_text(json.dumps([{"title": "T", "abstract": "An abstract. " * 10, "authors": ["A"]}]))
    assert read_file(ours)[0].author_names == ("A",)


def test_arxiv_atom_fields():
    papers = by_title("arxiv.atom")
    leti = papers[LETI]
    assert (leti.arxiv_id, leti.published, leti.keywords) == ("2305.10314v2", "2023-05-17", ("cs.CL", "cs.AI"))
    assert "\n" not in leti.abstract and leti.abstract.startswith("Finetuning pre-trained language models")
    cross = papers["Crosslingual Generalization through Multitask Finetuning"]
    assert (cross.doi, cross.venue) == ("10.18653/v1/2023.acl-long.891", "ACL 2023")  # arxiv:doi, journal_ref
    assert cross.url == "https://doi.org/10.18653/v1/2023.acl-long.891"


def test_zotero_data_directory_and_file():
    papers, skipped = read_entries(DATA / "zotero")
    assert read_file(DATA / "zotero" / "zotero.sqlite") == papers
    titles = [p.title for p in papers]
    assert "ERNIE 3.0" not in " ".join(titles)  # in the trash
    assert not any("Fulltext PDF" in t for t in titles)  # the attachment (and the note) are not papers
    assert [s.title for s in skipped] == ["Deep Learning",
                                          "BLOOM: A 176B-Parameter Open-Access Multilingual Language Model"]
    assert skipped[0].where == f"{DATA / 'zotero' / 'zotero.sqlite'}: item 9"
    cubert = next(p for p in papers if p.title.startswith("Learning and Evaluating"))
    assert cubert.arxiv_id == "2001.00059"  # from extra: "arXiv: 2001.00059"
    assert (cubert.published, cubert.year) == ("July 2020", 2020)  # stored as "2020-07-00 July 2020"
    assert cubert.author_names == ("Aditya Kanade", "Petros Maniatis", "Gogul Balakrishnan", "Kensen Shi")  # no editors
    assert cubert.keywords == ("BERT", "code") and cubert.venue.startswith("Proceedings of the 37th")
    leti = papers[0]
    assert (leti.arxiv_id, leti.doi) == ("2305.10314", "10.48550/arXiv.2305.10314")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("spill", [False, True])
def test_zotero_database_is_unchanged_and_readable_while_locked(tmp_path, spill):
    """Zotero holds an exclusive lock while it runs, here mid-transaction; with `spill`, uncommitted pages are
    already in the file (a hot journal). The reader sees the last committed library and changes nothing."""
    library = tmp_path / "Zotero"
    shutil.copytree(DATA / "zotero", library)
    db = library / "zotero.sqlite"
    before, listing = sha(db), sorted(p.name for p in library.iterdir())
    zotero = sqlite3.connect(db, isolation_level=None)
    zotero.execute("PRAGMA locking_mode=EXCLUSIVE")
    if spill:
        zotero.execute("PRAGMA cache_size=1")
    zotero.execute("BEGIN EXCLUSIVE")
    zotero.execute("UPDATE itemDataValues SET value = 'edited: ' || value")
    if spill:
        zotero.execute("CREATE TABLE filler (x)")
        zotero.executemany("INSERT INTO filler VALUES (?)", [("x" * 3000,)] * 300)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):  # an ordinary reader is shut out
            sqlite3.connect(db, timeout=0).execute("SELECT count(*) FROM items").fetchone()
        papers, _ = read_entries(library)
        assert len(papers) == 5 and papers[0].title == LETI
    finally:
        zotero.rollback()
        zotero.close()
    assert sha(db) == before and sorted(p.name for p in library.iterdir()) == listing


def test_zotero_sees_changes_committed_to_the_wal(tmp_path):
    library = tmp_path / "Zotero"
    shutil.copytree(DATA / "zotero", library)
    zotero = sqlite3.connect(library / "zotero.sqlite", isolation_level=None)
    assert zotero.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    zotero.execute("PRAGMA wal_autocheckpoint=0")
    zotero.execute("UPDATE itemDataValues SET value = 'LeTI, renamed' WHERE value = ?", (LETI,))
    try:
        assert read_file(library)[0].title == "LeTI, renamed"  # committed, but only in zotero.sqlite-wal
    finally:
        zotero.close()


def test_a_directory_with_a_zotero_library_reads_the_database_not_its_storage(tmp_path):
    shutil.copytree(DATA / "zotero", tmp_path / "Zotero")
    (tmp_path / "Zotero" / "better-bibtex.sqlite").write_bytes(b"another plugin's database")
    (tmp_path / "places.sqlite").write_bytes(b"not a library")  # met on the way: not read (named, it would be)
    (tmp_path / "more.jsonl").write_text(json.dumps({"title": "T", "abstract": "An abstract. " * 10}) + "\n")
    r = read_paths([tmp_path])
    assert [f.relative_to(tmp_path).as_posix() for f in r.files] == ["Zotero", "more.jsonl"]
    assert len(r.entries) == 6 and len(r.skipped) == 2  # storage/7HXRBT2C/notes.txt was not read


def test_dedupe_across_formats():
    r = read_paths([DATA / name for name in sorted(SAMPLES)])
    assert [f.name for f in r.files] == ["arxiv.atom", "library.bib", "library.json", "library.ris", "zotero"]
    assert (len(r.entries), len(r.papers), len(r.skipped)) == (25, 14, 5)
    papers = {p.title: p for p in r.papers}
    leti = papers[LETI]  # in all five: first from the Atom feed, then filled in by the others
    assert leti.origin == "arxiv.atom:11" and leti.arxiv_id == "2305.10314v2"
    assert leti.doi == "10.48550/arXiv.2305.10314" and leti.url == "https://doi.org/10.48550/arXiv.2305.10314"
    assert leti.venue is None and leti.published == "2023-05-17"
    assert leti.keywords == ("cs.CL", "cs.AI", "Computer Science - Computation and Language",
                             "Computer Science - Artificial Intelligence")  # the union
    gpt3 = papers["Language Models are Few-Shot Learners"]  # .bib and .json, by title; the .bib one has a URL
    assert gpt3.origin == "library.bib:57" and gpt3.url.startswith("https://proceedings.neurips.cc/")
    unified = papers["Towards a Unified View of Parameter-Efficient Transfer Learning"]
    assert unified.arxiv_id == "2110.04366"  # from the Zotero copy's extra field
    assert unified.url == "https://arxiv.org/abs/2110.04366"  # the RIS record had only its OpenReview URL


def test_dedupe_by_doi_and_arxiv_id_when_titles_differ(tmp_path):
    abstract = "An abstract long enough to be one. " * 4
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"title": "A Preprint Title", "abstract": abstract, "arxiv_id": "2305.10314v1"},
        {"title": "The Journal Title", "abstract": abstract, "arxiv_id": "2305.10314v3", "year": 2024},
        {"title": "Something Else", "abstract": abstract},
    ]) + "\n")
    bib = tmp_path / "b.bib"
    bib.write_text(f"@article{{x, title = {{Yet Another Title}}, abstract = {{{abstract}}}, doi = {{10.1234/J.X}},\n"
                   " journal = {J}, eprint = {2305.10314}, archivePrefix = {arXiv}}\n"
                   f"@article{{y, title = {{Fourth}}, abstract = {{{abstract}}}, doi = {{https://doi.org/10.1234/j.x}}}}\n")
    papers = read_paths([path, bib]).papers
    assert [p.title for p in papers] == ["A Preprint Title", "Something Else"]
    merged = papers[0]
    assert (merged.year, merged.venue, merged.doi) == (2024, "J", "10.1234/J.X")
    assert merged.url == "https://doi.org/10.1234/J.X"


def test_a_record_linking_two_earlier_groups_merges_them():
    from assistant.ingest.readers.base import make_paper

    a = make_paper("First", "x" * 50, "f:1", "f:1", doi="10.1234/a")
    b = make_paper("Second", "y" * 50, "f:2", "f:2", arxiv_id="2305.10314")
    both = make_paper("Third", "z" * 50, "f:3", "f:3", doi="10.1234/A", arxiv_id="2305.10314v2")
    [merged] = dedupe([a, b, both])
    assert (merged.title, merged.doi, merged.arxiv_id) == ("First", "10.1234/a", "2305.10314")


@pytest.mark.parametrize(
    ("doi", "arxiv_id", "url", "link"),
    [("10.1234/x", "2305.10314", "https://x.org/p", "https://doi.org/10.1234/x"),
     ("https://doi.org/10.1234/x", None, None, "https://doi.org/10.1234/x"),
     (None, "2305.10314", "https://x.org/p", "https://arxiv.org/abs/2305.10314"),
     ("not a doi", "nope", "https://x.org/p", "https://x.org/p"),
     (None, None, None, "https://arxiv.org/search/?query=A+Title&searchtype=title")],
)
def test_links_prefer_doi_then_arxiv_then_url_then_title_search(doi, arxiv_id, url, link):
    assert paper_url("A Title", arxiv_id, url, doi) == link


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("unclosed_brace.bib", ":15: invalid BibTeX entry: Unexpected block start: `@misc`"),
        ("duplicate_key.bib", ":15: invalid BibTeX entry: Duplicate entry key 'wang_leti_2023' (first on line 1)"),
        ("missing_er.ris", ":18: a new record starts before the one on line 1 ended"),
        ("truncated.ris", ":18: the record starting here has no 'ER  -' line"),
        ("stray_text.ris", ":1: expected 'TY  - ' to start a RIS record"),
        ("author_string.json", ":42: 'author' must be a list of"),
        ("truncated_csl.json", ":52: invalid JSON (Unterminated string"),
        ("truncated.atom", ":118: not well-formed XML"),
        ("api_error.atom", ":11: the file is an arXiv API error response: incorrect id format for 2305.103145"),
        ("not_a_feed.xml", ": not an Atom feed"),
        ("not_zotero.sqlite", ": not a Zotero database (no fields, itemData"),
        ("truncated_zotero.sqlite", ": not a readable Zotero database (database disk image is malformed)"),
    ],
)
def test_malformed_files_name_the_file_and_line(name, message):
    with pytest.raises(CorpusError) as err:
        read_file(BAD / name)
    assert str(err.value).startswith(str(BAD / name) + message)
    assert "\n" not in str(err.value)


def test_a_file_of_entries_without_abstracts_is_an_error_naming_the_first(tmp_path):
    bib = tmp_path / "books.bib"
    bib.write_text("@book{a, title = {A Book}, year = 2001}\n\n@book{b, title = {B}}\n")
    with pytest.raises(CorpusError, match=r"books\.bib: no papers with an abstract in the file \(2 entries "
                                          r"skipped, the first at .*books\.bib:1: no abstract\)"):
        read_file(bib)


def test_bibtex_without_entries_and_empty_atom(tmp_path):
    bib = tmp_path / "x.bib"
    bib.write_text("% just a comment\n@comment{nothing here}\n")
    with pytest.raises(CorpusError, match=r"x\.bib: no BibTeX entries found"):
        read_file(bib)
    atom = tmp_path / "empty.atom"
    atom.write_text('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>q</title></feed>')
    with pytest.raises(CorpusError, match=r"empty\.atom: no papers in the file"):
        read_file(atom)
