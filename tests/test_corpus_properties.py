"""Property-based tests of every reader: random and truncated input parses cleanly or fails with CorpusError."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.corpus import CorpusError, read_file
from tests.conftest import CORPUS

CAPTURES = sorted(CORPUS.glob("*.txt"))
FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _parse(tmp: Path, name: str, data: bytes) -> None:
    path = tmp / name
    path.write_bytes(data)
    try:
        papers = read_file(path)
    except CorpusError as e:
        assert str(path) in str(e)
        return
    assert papers
    for p in papers:
        assert p.title.strip() and p.abstract.strip() and p.paper_id.startswith("p")


@FAST
@given(index=st.integers(0, len(CAPTURES) - 1), cut=st.floats(0, 1))
def test_truncated_captures(tmp_path_factory, index, cut):
    data = CAPTURES[index].read_bytes()
    _parse(tmp_path_factory.mktemp("cap"), "page.txt", data[: int(len(data) * cut)])


@FAST
@given(lines=st.lists(st.text(max_size=400), max_size=12))
def test_random_capture_lines(tmp_path_factory, lines):
    _parse(tmp_path_factory.mktemp("rnd"), "page.txt", "\n".join(lines).encode())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)
records = st.fixed_dictionaries(
    {"title": st.text(max_size=80), "abstract": st.text(max_size=300)},
    optional={"authors": json_values, "year": json_values, "url": json_values, "arxiv_id": json_values,
              "author_count": json_values, "extra": json_values},
)


@FAST
@given(items=st.lists(records | json_values, max_size=5), cut=st.floats(0.5, 1))
def test_random_jsonl(tmp_path_factory, items, cut):
    text = "\n".join(json.dumps(i) for i in items)
    _parse(tmp_path_factory.mktemp("jsonl"), "c.jsonl", text[: int(len(text) * cut)].encode())


@FAST
@given(items=st.lists(records, max_size=5))
def test_random_json(tmp_path_factory, items):
    _parse(tmp_path_factory.mktemp("json"), "c.json", json.dumps({"papers": items}).encode())


@FAST
@given(rows=st.lists(st.lists(st.text(max_size=60), min_size=1, max_size=4), max_size=6),
       header=st.sampled_from(["title,abstract", "title,abstract,year", "abstract", "title,abstract,bogus"]))
def test_random_csv(tmp_path_factory, rows, header):
    body = "\n".join(",".join(json.dumps(c) for c in row) for row in rows)
    _parse(tmp_path_factory.mktemp("csv"), "c.csv", f"{header}\n{body}".encode())
