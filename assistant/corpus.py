"""Reads paper collections into `Paper` records: Daily-Papers page captures (.txt), JSONL/JSON and CSV; dedupes.

Every malformed input raises `CorpusError` naming the file and line. It does not chunk, embed or store
anything (index.py does); text is kept verbatim apart from page boilerplate and LaTeX escapes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from assistant.latex import clean_latex

EXTENSIONS = (".txt", ".jsonl", ".json", ".csv")
FIELDS = {"title", "abstract", "authors", "year", "url", "arxiv_id", "author_count", "published"}
MAX_TITLE = 300
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
_AUTHORS = re.compile(r"^•\s*(\d+)\s+authors?$")
_ARXIV_NEW = re.compile(r"^\d{4}\.\d{4,5}(v\d+)?$")
_ARXIV_OLD = re.compile(r"^[a-z\-]+(\.[A-Z]{2})?/\d{7}(v\d+)?$")


class CorpusError(ValueError):
    """A collection file cannot be read; the message starts with "file:line:" where a line applies."""


@dataclass(frozen=True)
class ReadResult:
    entries: list[Paper]  # every record, in file order
    papers: list[Paper]  # deduplicated by normalised title, first occurrence first
    files: list[Path]


from assistant.types import Paper  # noqa: E402 - after ReadResult's annotation for readability


def normalise_title(title: str) -> str:
    text = unicodedata.normalize("NFKC", title).casefold()
    text = re.sub(r"[^\w]+", " ", text)
    return " ".join(text.split())


def paper_id_for(title: str) -> str:
    return "p" + hashlib.sha256(normalise_title(title).encode()).hexdigest()[:12]


def valid_arxiv_id(value: str) -> bool:
    return bool(_ARXIV_NEW.match(value) or _ARXIV_OLD.match(value))


def paper_url(title: str, arxiv_id: str | None = None, url: str | None = None) -> str:
    if url:
        return url
    if arxiv_id:
        return f"https://arxiv.org/abs/{arxiv_id}"
    return f"https://arxiv.org/search/?query={quote_plus(title)}&searchtype=title"


def make_paper(title: str, abstract: str, origin: str, **extra: Any) -> Paper:
    title, abstract = clean_latex(" ".join(title.split())), clean_latex(abstract.strip())
    arxiv_id = extra.get("arxiv_id") or None
    return Paper(
        paper_id=paper_id_for(title),
        title=title,
        abstract=abstract,
        url=paper_url(title, arxiv_id, extra.get("url") or None),
        authors=extra.get("authors") or None,
        author_count=extra.get("author_count"),
        published=extra.get("published") or None,
        arxiv_id=arxiv_id,
        origin=origin,
    )


# -- Daily-Papers captures --------------------------------------------------------------------------------


def read_capture(path: Path, text: str) -> list[Paper]:
    """A saved Hugging Face Daily-Papers search page: title line, abstract line, optional metadata lines."""
    papers: list[Paper] = []
    title: tuple[int, str] | None = None  # (line number, text) waiting for its abstract
    started = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line == "·":
            continue
        if line.casefold() in _BOILERPLATE:
            continue
        if not started and line.startswith("Subscribe") and len(line) > len("Subscribe"):
            line = line[len("Subscribe"):].strip()  # the first title glued to the header's button
        if m := _AUTHORS.match(line):
            if title or not papers:
                raise CorpusError(f"{path}:{number}: author count with no abstract before it")
            papers[-1] = replace(papers[-1], author_count=int(m.group(1)))
            continue
        if m := _DATE.match(line):
            if title:
                raise CorpusError(f"{path}:{number}: a date where the abstract of line {title[0]} should be")
            if started and papers:
                papers[-1] = replace(papers[-1], published=m.group(1))
            continue  # a date before the first entry is the page's capture date
        if title is None:
            if len(line) >= MAX_TITLE:
                raise CorpusError(
                    f"{path}:{number}: expected a paper title (under {MAX_TITLE} characters), got "
                    f"{len(line)} characters; is a title missing before this abstract?"
                )
            title = (number, line)
            started = True
            continue
        if len(line) < MIN_ABSTRACT:
            raise CorpusError(
                f"{path}:{title[0]}: title {title[1][:60]!r} is followed by a {len(line)}-character line "
                f"at line {number}, not an abstract"
            )
        papers.append(make_paper(title[1], line, f"{path.name}:{title[0]}"))
        title = None
    if title is not None:
        raise CorpusError(f"{path}:{title[0]}: title {title[1][:60]!r} has no abstract")
    if not papers:
        raise CorpusError(f"{path}: no papers found (expected title and abstract lines)")
    return papers


# -- JSON, JSONL, CSV -------------------------------------------------------------------------------------


def _record(path: Path, line: int, data: Any) -> Paper:
    where = f"{path}:{line}"
    if not isinstance(data, dict):
        raise CorpusError(f"{where}: expected an object with title and abstract, got {type(data).__name__}")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise CorpusError(f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(FIELDS))}")
    title, abstract = data.get("title"), data.get("abstract")
    for key, value in (("title", title), ("abstract", abstract)):
        if not isinstance(value, str) or not value.strip():
            raise CorpusError(f"{where}: missing or empty {key!r}")
    assert isinstance(title, str) and isinstance(abstract, str)
    authors = data.get("authors")
    if isinstance(authors, list):
        authors = ", ".join(str(a).strip() for a in authors if str(a).strip())
    elif authors is not None and not isinstance(authors, str):
        raise CorpusError(f"{where}: 'authors' must be a string or a list of names")
    arxiv_id = str(data.get("arxiv_id") or "").strip() or None
    if arxiv_id and not valid_arxiv_id(arxiv_id):
        raise CorpusError(f"{where}: 'arxiv_id' {arxiv_id!r} is not an arXiv id like 2305.10314")
    url = str(data.get("url") or "").strip() or None
    if url and not re.match(r"^https?://", url):
        raise CorpusError(f"{where}: 'url' must start with http:// or https://")
    count = data.get("author_count")
    if count not in (None, ""):
        try:
            count = int(count)
        except (TypeError, ValueError):
            raise CorpusError(f"{where}: 'author_count' must be a whole number") from None
    elif authors:
        count = len([a for a in authors.split(",") if a.strip()])
    else:
        count = None
    year = data.get("year")
    published = str(data.get("published") or year or "").strip() or None
    return make_paper(title, abstract, f"{path.name}:{line}", authors=authors or None, author_count=count,
                      published=published, arxiv_id=arxiv_id, url=url)


def read_jsonl(path: Path, text: str) -> list[Paper]:
    papers = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            raise CorpusError(f"{path}:{number}: invalid JSON ({e.msg} at column {e.colno})") from None
        papers.append(_record(path, number, data))
    return papers


def read_json(path: Path, text: str) -> list[Paper]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise CorpusError(f"{path}:{e.lineno}: invalid JSON ({e.msg} at column {e.colno})") from None
    if isinstance(data, dict) and isinstance(data.get("papers"), list):
        data = data["papers"]
    if not isinstance(data, list):
        raise CorpusError(f"{path}:1: expected a list of papers or {{\"papers\": [...]}}")
    # JSON arrays have no per-record line: report the record's position instead.
    return [_record(path, i, item) for i, item in enumerate(data, 1)]


def read_csv(path: Path, text: str) -> list[Paper]:
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = reader.fieldnames or []
        missing = {"title", "abstract"} - set(header)
        if missing:
            raise CorpusError(f"{path}:1: missing column(s) {', '.join(sorted(missing))} in the header")
        papers = []
        for row in reader:
            if None in row:
                raise CorpusError(f"{path}:{reader.line_num}: more values than columns in the header")
            papers.append(_record(path, reader.line_num, {k: v for k, v in row.items() if v not in (None, "")}
                                  | {"title": row.get("title") or "", "abstract": row.get("abstract") or ""}))
        return papers
    except csv.Error as e:
        raise CorpusError(f"{path}: invalid CSV ({e})") from None


_READERS = {".txt": read_capture, ".jsonl": read_jsonl, ".json": read_json, ".csv": read_csv}


def read_file(path: Path) -> list[Paper]:
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise CorpusError(f"{path}: unknown format {path.suffix or '(no extension)'!r}; use one of "
                          f"{', '.join(EXTENSIONS)}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CorpusError(f"{path}: no such file") from None
    except UnicodeDecodeError as e:
        raise CorpusError(f"{path}: not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise CorpusError(f"{path}: cannot read ({e.strerror})") from None
    if not text.strip():
        raise CorpusError(f"{path}: the file is empty")
    papers = reader(path, text)
    if not papers:
        raise CorpusError(f"{path}: no papers in the file")
    return papers


def _expand(paths: Sequence[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS)
            if not found:
                raise CorpusError(f"{path}: no {', '.join(EXTENSIONS)} files in this directory")
            yield from found
        else:
            yield path


def dedupe(entries: Sequence[Paper]) -> list[Paper]:
    """One paper per normalised title; a later duplicate fills fields the first one lacks."""
    by_id: dict[str, Paper] = {}
    for paper in entries:
        first = by_id.get(paper.paper_id)
        if first is None:
            by_id[paper.paper_id] = paper
            continue
        by_id[paper.paper_id] = replace(
            first,
            author_count=first.author_count if first.author_count is not None else paper.author_count,
            published=first.published or paper.published,
            authors=first.authors or paper.authors,
        )
    return list(by_id.values())


def read_paths(paths: Sequence[Path]) -> ReadResult:
    files = list(_expand(paths))
    entries = [paper for f in files for paper in read_file(f)]
    return ReadResult(entries=entries, papers=dedupe(entries), files=files)
