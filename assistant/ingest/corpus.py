"""Reads paper collections into `Paper` records and dedupes them: Daily-Papers captures (.txt), JSONL, JSON, CSV.

Every malformed input raises `CorpusError` naming the file and line. It does not chunk, embed or store anything
(index.py does); text is kept verbatim apart from page boilerplate and LaTeX escapes (clean_latex).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from assistant.ingest.latex import clean_latex
from assistant.ingest.readers.base import CorpusError, is_search_url, normalise_title, paper_id_for, paper_url
from assistant.ingest.readers.capture import read_capture
from assistant.ingest.readers.records import read_csv, read_json, read_jsonl
from assistant.types import Paper

__all__ = ["EXTENSIONS", "CorpusError", "ReadResult", "clean_latex", "dedupe", "normalise_title", "paper_id_for",
           "paper_url", "read_file", "read_paths"]

_READERS: dict[str, Callable[[Path, str], list[Paper]]] = {
    ".txt": read_capture, ".jsonl": read_jsonl, ".json": read_json, ".csv": read_csv,
}
EXTENSIONS = tuple(_READERS)


@dataclass(frozen=True)
class ReadResult:
    entries: list[Paper]  # every record, in file order
    papers: list[Paper]  # deduplicated by normalised title, first occurrence first
    files: list[Path]  # the files read, in order


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CorpusError(f"{path}: no such file") from None
    except UnicodeDecodeError as e:
        raise CorpusError(f"{path}: not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise CorpusError(f"{path}: cannot read ({e.strerror})") from None


def read_file(path: Path) -> list[Paper]:
    """The papers in one file, the reader chosen by its extension."""
    path = Path(path)
    if path.is_dir():
        raise CorpusError(f"{path}: is a directory (read_paths reads directories)")
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        if not path.exists():
            raise CorpusError(f"{path}: no such file")
        raise CorpusError(f"{path}: unknown format {path.suffix or '(no extension)'!r}; use one of "
                          f"{', '.join(EXTENSIONS)}")
    text = _read_text(path)
    if not text.strip():
        raise CorpusError(f"{path}: the file is empty")
    papers = reader(path, text)
    if not papers:
        raise CorpusError(f"{path}: no papers in the file")
    return papers


def _expand(paths: Sequence[Path]) -> Iterator[Path]:
    """Files as given; directories -> their known-format files, recursively, sorted, hidden ones skipped."""
    for path in map(Path, paths):
        if not path.is_dir():
            yield path
            continue
        found = sorted(
            p for p in path.rglob("*")
            if p.is_file() and p.suffix.lower() in EXTENSIONS
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not found:
            raise CorpusError(f"{path}: no {', '.join(EXTENSIONS)} files in this directory")
        yield from found


def _merge(first: Paper, later: Paper) -> Paper:
    """`first` with the fields it lacks taken from a later duplicate."""
    direct = first.arxiv_id is None and is_search_url(first.url) and not is_search_url(later.url)
    return replace(
        first,
        author_count=first.author_count if first.author_count is not None else later.author_count,
        published=first.published or later.published,
        authors=first.authors or later.authors,
        arxiv_id=first.arxiv_id or later.arxiv_id,
        url=later.url if direct else first.url,
    )


def dedupe(entries: Sequence[Paper]) -> list[Paper]:
    """One paper per normalised title; the first occurrence wins, later ones fill what it lacks."""
    by_id: dict[str, Paper] = {}
    for paper in entries:
        first = by_id.get(paper.paper_id)
        by_id[paper.paper_id] = paper if first is None else _merge(first, paper)
    return list(by_id.values())


def read_paths(paths: Sequence[Path]) -> ReadResult:
    """Reads files and directories (each file once, even when named twice) and dedupes the papers."""
    files: list[Path] = []
    seen: set[Path] = set()
    for file in _expand(paths):
        key = file.resolve()
        if key not in seen:
            seen.add(key)
            files.append(file)
    entries = [paper for f in files for paper in read_file(f)]
    return ReadResult(entries=entries, papers=dedupe(entries), files=files)
