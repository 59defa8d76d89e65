"""Reads BibTeX and BibLaTeX (.bib) as Zotero, Better BibTeX, Mendeley and JabRef export it, with bibtexparser 2.

Version 2, not the older 1.4: 1.4 drops a malformed entry without a word, 2 keeps it as a failed block with
its line, which becomes a `CorpusError` here. Fields: title, abstract, author, year/month/date, doi,
eprint/arXiv id (or one in the note or URL), url, journal/journaltitle/booktitle/venue, keywords. LaTeX in any
field becomes text and BibTeX's grouping braces go ({LeTI}, M{\\"u}ller -> LeTI, Müller). Entries without an
abstract are skipped and named.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from assistant.ingest.latex import clean_bibtex
from assistant.ingest.readers.base import CorpusError, Skipped, find_arxiv_id, normalise_arxiv_id, paper_or_skip
from assistant.types import Paper

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_VENUES = ("journal", "journaltitle", "booktitle", "venue", "eventtitle", "series")


def _name(parts: object) -> str:
    """bibtexparser's NameParts (first, von, last, jr: lists of words) -> "Given von Family, Jr"."""
    words = [*parts.first, *parts.von, *parts.last]  # type: ignore[attr-defined]
    name = clean_bibtex(" ".join(words))
    return f"{name}, {clean_bibtex(' '.join(parts.jr))}" if parts.jr else name  # type: ignore[attr-defined]


def _parse(text: str):  # -> bibtexparser.Library
    import bibtexparser
    from bibtexparser.middlewares import SeparateCoAuthors, SplitNameParts

    splitter = logging.getLogger("bibtexparser.splitter")
    level = splitter.level
    splitter.setLevel(logging.ERROR)  # it logs each broken block; the CorpusError names it in one line instead
    try:
        return bibtexparser.parse_string(text, append_middleware=[SeparateCoAuthors(), SplitNameParts()])
    finally:
        splitter.setLevel(level)


def _failure(path: Path, block) -> CorpusError:
    line = (block.start_line or 0) + 1
    error = block.error
    reason = getattr(error, "abort_reason", None) or str(error) or type(error).__name__
    reason = " ".join(str(reason).split())
    previous = getattr(block, "previous_block", None)
    if previous is not None and previous.start_line is not None:
        reason += f" (first on line {previous.start_line + 1})"
    return CorpusError(f"{path}:{line}: invalid BibTeX entry: {reason}")


def read_bibtex(path: Path, text: str) -> list[Paper | Skipped]:
    library = _parse(text)
    if library.failed_blocks:
        raise _failure(path, min(library.failed_blocks, key=lambda b: b.start_line or 0))
    if not library.entries and "@" in text:
        raise CorpusError(f"{path}: no BibTeX entries found (expected @article{{key, title = {{...}}, ...}})")
    out: list[Paper | Skipped] = []
    for entry in library.entries:
        line = (entry.start_line or 0) + 1
        where = f"{path}:{line}"
        fields = {f.key.lower(): f.value for f in entry.fields}
        text_of = {k: clean_bibtex(str(v)).strip() for k, v in fields.items() if isinstance(v, str | int)}
        names = fields.get("author") if isinstance(fields.get("author"), list) else []
        authors = [n for n in map(_name, names) if n.casefold() != "others"]  # "and others": et al.
        eprint = text_of.get("eprint", "")
        arxiv = normalise_arxiv_id(eprint) if eprint and text_of.get("archiveprefix", "arxiv").lower() == "arxiv" \
            else None
        year = text_of.get("year", "")
        month = text_of.get("month", "")
        month = month.capitalize() if month.lower() in _MONTHS else month  # the macro `may` -> "May"
        date = text_of.get("date") or " ".join(p for p in (month, year) if p)
        keywords = re.split(r"\s*[;,]\s*", text_of.get("keywords", "")) if text_of.get("keywords") else []
        out.append(paper_or_skip(
            text_of.get("title"), text_of.get("abstract"), where, f"{path.name}:{line}", key=entry.key,
            authors=authors, published=date or None, year=int(year) if year.isdigit() else None,
            doi=text_of.get("doi"), url=text_of.get("url"), keywords=keywords,
            venue=next((text_of[k] for k in _VENUES if text_of.get(k)), None),
            arxiv_id=arxiv or find_arxiv_id(text_of.get("note"), text_of.get("doi"), text_of.get("url"),
                                            text_of.get("howpublished")),
        ))
    return out
