"""Reads RIS (.ris) as Zotero, Mendeley, EndNote and publishers export it, with rispy.

Records are cut here (TY ... ER) so every error names a line, then each record's tags are parsed by rispy
(which on its own would drop a record that lacks its ER line). Fields: TI/T1, AB/N2, AU/A1, PY/DA/Y1, DO, UR,
T2/JO/JF/C3 (venue), KW, and an arXiv id in DO, UR or N1. Records without an abstract are skipped and named.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from assistant.ingest.readers.base import CorpusError, Skipped, find_arxiv_id, given_family, paper_or_skip
from assistant.types import Paper

_TAG = re.compile(r"^([A-Z][A-Z0-9])  -( |$)")  # "TY  - JOUR", and "ER  -" with nothing after it


def _records(path: Path, text: str) -> list[tuple[int, list[str]]]:
    """(line of TY, the record's lines) for each TY ... ER block; anything else outside a record is an error."""
    records: list[tuple[int, list[str]]] = []
    start: int | None = None
    lines: list[str] = []
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.rstrip("\r")
        tag = m.group(1) if (m := _TAG.match(line)) else None
        if tag == "TY":
            if start is not None:
                raise CorpusError(f"{path}:{number}: a new record starts before the one on line {start} ended "
                                  "(its 'ER  -' line is missing)")
            start, lines = number, [line]
        elif start is None:
            if line.strip():
                raise CorpusError(f"{path}:{number}: expected 'TY  - ' to start a RIS record, got {line[:40]!r}")
        elif tag == "ER":
            records.append((start, [*lines, line]))
            start = None
        else:
            lines.append(line)
    if start is not None:
        raise CorpusError(f"{path}:{start}: the record starting here has no 'ER  -' line")
    return records


def _first(record: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = record.get(key)
        if isinstance(value, list):
            value = next((v for v in value if v), None)
        if value and str(value).strip():
            return str(value).strip()
    return None


def read_ris(path: Path, text: str) -> list[Paper | Skipped]:
    import rispy

    parser = rispy.RisParser(skip_unknown_tags=True)
    out: list[Paper | Skipped] = []
    for line, lines in _records(path, text):
        where = f"{path}:{line}"
        [record] = parser.parse_lines(iter(lines))
        kind = record.get("type_of_reference", "")
        names = [*(record.get("authors") or []), *(record.get("first_authors") or [])]
        date = _first(record, "date", "year", "publication_year")
        venues = ("custom3", "secondary_title") if kind == "CONF" else ()
        venue = _first(record, *venues, "alternate_title3", "journal_name", "secondary_title", "custom3")
        keywords = [k for kw in record.get("keywords") or [] for k in re.split(r"\s*;\s*", kw)]
        urls = record.get("urls") or []
        notes = " ".join(record.get("notes") or [])
        doi = _first(record, "doi")
        out.append(paper_or_skip(
            _first(record, "title", "primary_title"), _first(record, "abstract", "notes_abstract"), where,
            f"{path.name}:{line}", key=_first(record, "id") or "",
            authors=[given_family(n) for n in dict.fromkeys(names)], published=date.strip("/ ") if date else None,
            doi=doi, url=urls[0] if urls else None, venue=venue, keywords=keywords,
            arxiv_id=find_arxiv_id(doi, *urls, notes, _first(record, "note")),
        ))
    return out
