"""Property tests of every reader: random or truncated input parses cleanly or fails with CorpusError, never else."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.ingest.corpus import clean_latex, normalise_title, paper_id_for, read_paths
from assistant.ingest.readers.records import FIELDS
from tests.support import CORPUS, read_or_error

CAPTURES = sorted(CORPUS.glob("*.txt"))
REAL_LINES = sorted({line for p in CAPTURES[2:3] + CAPTURES[:1] for line in p.read_text().split("\n")})
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _parse(tmp: Path, name: str, data: bytes) -> None:
    papers = read_or_error(tmp, name, data)
    if papers is None:
        return
    assert papers
    for p in papers:
        assert p.title.strip() and p.abstract.strip() and p.title == p.title.strip()
        assert p.paper_id == paper_id_for(p.title) and p.url.startswith(("https://", "http://"))
        assert p.origin.startswith(name)


@FAST
@given(index=st.integers(0, len(CAPTURES) - 1), start=st.integers(0, 10**6), end=st.integers(0, 10**6))
def test_truncated_captures(tmp_path_factory, index, start, end):
    data = CAPTURES[index].read_bytes()
    start, end = sorted((start % (len(data) + 1), end % (len(data) + 1)))
    _parse(tmp_path_factory.mktemp("cap"), "page.txt", data[start:end])  # may cut inside a UTF-8 character


@FAST
@given(lines=st.lists(st.sampled_from(REAL_LINES) | st.text(max_size=400), max_size=14))
def test_random_capture_lines(tmp_path_factory, lines):
    _parse(tmp_path_factory.mktemp("rnd"), "page.txt", "\n".join(lines).encode())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)
field_values = {
    "title": st.text(max_size=80) | json_values, "abstract": st.text(max_size=300) | json_values,
    "authors": st.lists(st.text(max_size=20), max_size=4) | json_values,
    "author_count": st.integers(-2, 50) | st.from_regex(r"\s*\d{1,3}\s*", fullmatch=True) | json_values,
    "year": st.integers(1990, 2030) | json_values, "published": st.text(max_size=20) | json_values,
    "url": st.sampled_from(["https://x.org/p", "ftp://x", ""]) | json_values,
    "arxiv_id": st.sampled_from(["2305.10314v2", "hep-th/9901001", "arXiv:2401.00001", "2399.1"]) | json_values,
}
records = st.fixed_dictionaries(
    {"title": st.text(min_size=1, max_size=80), "abstract": st.text(min_size=1, max_size=300)},
    optional={**{k: v for k, v in field_values.items() if k not in ("title", "abstract")}, "abstarct": json_values},
)


@FAST
@given(items=st.lists(records | json_values, max_size=5), cut=st.floats(0.5, 1))
def test_random_jsonl(tmp_path_factory, items, cut):
    text = "\n".join(json.dumps(i) for i in items)  # NaN and Infinity included: json.dumps writes them
    _parse(tmp_path_factory.mktemp("jsonl"), "c.jsonl", text[: int(len(text) * cut)].encode())


@FAST
@given(items=st.lists(records, max_size=5), wrap=st.booleans(), cut=st.floats(0.8, 1))
def test_random_json(tmp_path_factory, items, wrap, cut):
    text = json.dumps({"papers": items} if wrap else items, indent=1)
    _parse(tmp_path_factory.mktemp("json"), "c.json", text[: int(len(text) * cut)].encode())


cells = st.text(max_size=60) | st.sampled_from(["2024", "3", "2305.10314", "x" * 120, 'a "quoted"\nvalue'])


@FAST
@given(header=st.lists(st.sampled_from([*FIELDS, "bogus", " title "]), min_size=1, max_size=5),
       rows=st.lists(st.lists(cells, min_size=1, max_size=6), max_size=6), cut=st.floats(0.5, 1))
def test_random_csv(tmp_path_factory, header, rows, cut):
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    text = out.getvalue()
    _parse(tmp_path_factory.mktemp("csv"), "c.csv", text[: int(len(text) * cut)].encode())


@FAST
@given(text=st.text(max_size=200) | st.lists(st.sampled_from(['\\"', "\\'", "{", "}", "\\c", " ", "U", "\\i",
                                                               "\\url{", "$\\sim$", "\\%", "``", "''"])).map("".join))
def test_clean_latex_total(text):
    out = clean_latex(text)
    assert isinstance(out, str)
    if "\\" not in text and "$" not in text and "``" not in text:
        assert out == text


@FAST
@given(title=st.text(max_size=80))
def test_normalise_title_is_idempotent(title):
    assert normalise_title(normalise_title(title)) == normalise_title(title)


@FAST
@given(words=st.lists(st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True), min_size=1, max_size=6),
       seps=st.lists(st.sampled_from([" ", "  ", ": ", " - ", "! ", ", ", "\t", "—"]), min_size=6, max_size=6),
       upper=st.lists(st.booleans(), min_size=6, max_size=6))
def test_ids_ignore_case_spacing_and_punctuation(words, seps, upper):
    shown = [w.upper() if u else w for w, u in zip(words, upper, strict=False)]
    title = " " + "".join(w + s for w, s in zip(shown, seps, strict=False))
    assert paper_id_for(title) == paper_id_for(" ".join(words))


@FAST
@given(titles=st.lists(st.sampled_from(["Alpha Paper", "alpha  paper!", "Beta", "BETA.", "Gamma"]), min_size=1))
def test_dedupe_keeps_one_per_normalised_title(tmp_path_factory, titles):
    path = tmp_path_factory.mktemp("dd") / "d.jsonl"
    path.write_text("\n".join(json.dumps({"title": t, "abstract": f"about {i}"}) for i, t in enumerate(titles)))
    r = read_paths([path])
    assert len(r.entries) == len(titles)
    assert [p.paper_id for p in r.papers] == list(dict.fromkeys(p.paper_id for p in r.entries))
