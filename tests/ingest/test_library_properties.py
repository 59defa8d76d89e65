"""Property tests of the library readers: any cut of a real export, or random lines in its shape, parses cleanly
or fails with a CorpusError naming the file, never with another exception."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import ROOT, read_or_error

DATA = ROOT / "tests" / "data"
EXPORTS = ["library.bib", "library.ris", "library.json", "arxiv.atom"]
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _parse(tmp: Path, name: str, data: bytes) -> None:
    papers = read_or_error(tmp, name, data)
    if papers is None:
        return
    for p in papers:
        assert p.title.strip() and p.abstract.strip() and p.url.startswith(("https://", "http://"))
        assert all(isinstance(a, str) and a for a in p.author_names) and p.origin.startswith(name)
        assert p.year is None or isinstance(p.year, int)


@FAST
@given(index=st.integers(0, len(EXPORTS) - 1), start=st.integers(0, 10**6), end=st.integers(0, 10**6))
def test_cut_exports(tmp_path_factory, index, start, end):
    name = EXPORTS[index]
    data = (DATA / name).read_bytes()
    start, end = sorted((start % (len(data) + 1), end % (len(data) + 1)))
    if start > len(data) // 2:
        start = 0  # keep the head of the file (the BOM, the XML declaration) in most examples
    _parse(tmp_path_factory.mktemp("cut"), name, data[start:end])


def _lines(name: str) -> list[str]:
    return sorted(set((DATA / name).read_text(encoding="utf-8").split("\n")))


@FAST
@given(name=st.sampled_from(["library.bib", "library.ris"]), data=st.data())
def test_shuffled_lines(tmp_path_factory, name, data):
    lines = data.draw(st.lists(st.sampled_from(_lines(name)) | st.text(max_size=60), max_size=30))
    _parse(tmp_path_factory.mktemp("lines"), name, "\n".join(lines).encode())


csl_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                          lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                          max_leaves=8)
csl_items = st.fixed_dictionaries(
    {"type": st.sampled_from(["article", "paper-conference", 3])},
    optional={"title": st.text(max_size=40) | csl_values, "abstract": st.text(max_size=200) | csl_values,
              "author": st.lists(st.fixed_dictionaries({}, optional={"family": csl_values, "given": csl_values,
                                                                     "literal": csl_values})) | csl_values,
              "issued": st.fixed_dictionaries({}, optional={"date-parts": csl_values, "raw": csl_values})
              | csl_values,
              "DOI": csl_values, "URL": csl_values, "container-title": csl_values, "keyword": csl_values,
              "number": csl_values})


@FAST
@given(items=st.lists(csl_items, min_size=1, max_size=4))
def test_random_csl_json(tmp_path_factory, items):
    import json

    _parse(tmp_path_factory.mktemp("csl"), "c.json", json.dumps(items, indent=1).encode())
