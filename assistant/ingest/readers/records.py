"""Reads structured paper records: JSONL (one object a line), JSON (a list or {"papers": [...]}) and CSV.
A JSON list of items with a "type" is CSL-JSON (Zotero's export) and goes to `csl`.

Known fields only: an unknown key or column (a typo like "abstarct") is an error naming it and the line.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from assistant.ingest.readers.base import CorpusError, Skipped, make_paper, normalise_arxiv_id
from assistant.ingest.readers.csl import is_csl, read_csl_items
from assistant.types import Paper

FIELDS = ("title", "abstract", "authors", "author_count", "year", "published", "url", "arxiv_id")
REQUIRED = ("title", "abstract")


def _text(where: str, key: str, value: Any) -> str | None:
    """An optional text field: a string (or a year-like integer), stripped; None when absent or empty."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and key in ("year", "published"):
        return str(value)
    if not isinstance(value, str):
        raise CorpusError(f"{where}: {key!r} must be text, got {type(value).__name__}")
    return value.strip() or None


def _authors(where: str, value: Any) -> tuple[str, ...]:
    """A list of names, or one string of names separated by commas."""
    if isinstance(value, list):
        if not all(isinstance(a, str) for a in value):
            raise CorpusError(f"{where}: 'authors' must be a string or a list of names")
        return tuple(a.strip() for a in value if a.strip())
    text = _text(where, "authors", value)
    return tuple(a.strip() for a in text.split(",") if a.strip()) if text else ()


def _author_count(where: str, value: Any, authors: tuple[str, ...]) -> int | None:
    if value is None or value == "":
        return len(authors) or None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CorpusError(f"{where}: 'author_count' must be a whole number, got {value!r}")
    return value


def record(where: str, origin: str, data: Any) -> Paper:
    """One record (a dict from JSON or a CSV row) -> `Paper`; `where` ("file:line") prefixes errors."""
    if not isinstance(data, dict):
        raise CorpusError(f"{where}: expected an object with title and abstract, got {type(data).__name__}")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise CorpusError(f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
    for key in REQUIRED:
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise CorpusError(f"{where}: missing or empty {key!r}")
    authors = _authors(where, data.get("authors"))
    url = _text(where, "url", data.get("url"))
    if url and not url.startswith(("http://", "https://")):
        raise CorpusError(f"{where}: 'url' must start with http:// or https://")
    arxiv_id = _text(where, "arxiv_id", data.get("arxiv_id"))
    if arxiv_id:
        arxiv_id = normalise_arxiv_id(arxiv_id)
        if arxiv_id is None:
            raise CorpusError(f"{where}: 'arxiv_id' {data['arxiv_id']!r} is not an arXiv id like 2305.10314 "
                              "or hep-th/9901001")
    published = _text(where, "published", data.get("published")) or _text(where, "year", data.get("year"))
    return make_paper(data["title"], data["abstract"], where, origin, authors=authors,
                      author_count=_author_count(where, data.get("author_count"), authors),
                      published=published, arxiv_id=arxiv_id, url=url)


def read_jsonl(path: Path, text: str) -> list[Paper]:
    papers = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            raise CorpusError(f"{path}:{number}: invalid JSON ({e.msg} at column {e.colno})") from None
        papers.append(record(f"{path}:{number}", f"{path.name}:{number}", data))
    return papers


def read_json(path: Path, text: str) -> list[Paper | Skipped]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise CorpusError(f"{path}:{e.lineno}: invalid JSON ({e.msg} at column {e.colno})") from None
    if is_csl(data):
        return read_csl_items(path, text, data)
    if isinstance(data, dict) and isinstance(data.get("papers"), list):
        data = data["papers"]
    if not isinstance(data, list):
        raise CorpusError(f'{path}:1: expected a list of papers or {{"papers": [...]}}')
    # A parsed JSON array has no line numbers: errors and origins name the record's position instead.
    return [record(f"{path}: record {i}", f"{path.name}#{i}", item) for i, item in enumerate(data, 1)]


def _check_header(path: Path, header: list[str]) -> None:
    missing = [f for f in REQUIRED if f not in header]
    if missing:
        raise CorpusError(f"{path}:1: missing column(s) {', '.join(missing)} in the header")
    unknown = [h for h in header if h not in FIELDS]
    if unknown:
        raise CorpusError(f"{path}:1: unknown column(s) {', '.join(map(repr, unknown))}; known: {', '.join(FIELDS)}")
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise CorpusError(f"{path}:1: column(s) {', '.join(repeated)} appear more than once in the header")


def read_csv(path: Path, text: str) -> list[Paper]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    papers = []
    try:
        _check_header(path, [h.strip() for h in reader.fieldnames or []])
        reader.fieldnames = [h.strip() for h in reader.fieldnames or []]
        start = reader.line_num + 1
        for row in reader:
            where = f"{path}:{start}"  # the row's first line, even when a quoted field spans several
            if None in row:
                raise CorpusError(f"{where}: more values than columns in the header")
            values = {k: v.strip() for k, v in row.items() if v is not None and v.strip()}
            papers.append(record(where, f"{path.name}:{start}", values))
            start = reader.line_num + 1
    except csv.Error as e:
        raise CorpusError(f"{path}:{reader.line_num}: invalid CSV ({e})") from None
    return papers
