"""Reads a saved Hugging Face Daily-Papers page: a title line, then an abstract line, per paper.

Page boilerplate is dropped; author-count and date lines after an abstract belong to that paper. Anything
that breaks the title/abstract pairing is a `CorpusError` naming the file and line.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from assistant.ingest.readers.base import CorpusError, make_paper
from assistant.types import Paper

MAX_TITLE = 300  # real titles are under 300 characters; abstracts 485 to 1,916
MIN_ABSTRACT = 100
_BOILERPLATE = {
    "new",
    "get trending papers in your email inbox!",
    "get trending papers in your email inbox once a day!",
    "subscribe",
    "daily papers",
    "byak and the research community",
}
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_DATE = re.compile(rf"^({_MONTH} \d{{1,2}}(?:, \d{{4}})?)(?: \d+)?$")  # "Oct 22, 2024", "Aug 13", "May 29 2"
_AUTHORS = re.compile(r"^•\s*(\d+)\s+authors?$")  # "  • 6 authors"
_GLUED = "Subscribe"  # the header's button text, glued to the first title in some captures


def _lines(text: str) -> list[tuple[int, str]]:
    """(line number, stripped text) of the lines that carry content, boilerplate removed."""
    # split("\n"), not splitlines(): the latter also breaks at \x0c, \x1c, \u2028 ... and shifts line numbers.
    out = []
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if line and line != "·" and line.casefold() not in _BOILERPLATE:
            out.append((number, line))
    return out


def read_capture(path: Path, text: str) -> list[Paper]:
    papers: list[Paper] = []
    title: tuple[int, str] | None = None  # (line number, text) waiting for its abstract
    for number, line in _lines(text):
        where = f"{path}:{number}"
        if not papers and title is None and line.startswith(_GLUED) and len(line) > len(_GLUED):
            line = line[len(_GLUED):].strip()
        if m := _AUTHORS.match(line):
            if title or not papers:
                raise CorpusError(f"{where}: an author count with no abstract before it")
            papers[-1] = replace(papers[-1], author_count=int(m.group(1)))
        elif m := _DATE.match(line):
            if title:
                raise CorpusError(f"{where}: a date where the abstract of the title on line {title[0]} should be")
            if papers:  # a date before the first entry is the page's capture date, not a paper's
                year = re.search(r"\b(?:19|20)\d\d\b", m.group(1))  # "Oct 22, 2024" has one; "Aug 13" has none
                papers[-1] = replace(papers[-1], published=m.group(1), year=int(year.group()) if year else None)
        elif title is None:
            if len(line) >= MAX_TITLE:
                raise CorpusError(
                    f"{where}: expected a paper title (under {MAX_TITLE} characters), got {len(line)} "
                    "characters; is a title missing before this abstract?"
                )
            title = (number, line)
        elif len(line) < MIN_ABSTRACT:
            raise CorpusError(
                f"{path}:{title[0]}: title {title[1][:60]!r} is followed by a {len(line)}-character line "
                f"at line {number}, not an abstract"
            )
        else:
            papers.append(make_paper(title[1], line, f"{path}:{title[0]}", f"{path.name}:{title[0]}"))
            title = None
    if title is not None:
        raise CorpusError(f"{path}:{title[0]}: title {title[1][:60]!r} has no abstract")
    if not papers:
        raise CorpusError(f"{path}: no papers found (expected a title line followed by an abstract line)")
    return papers
