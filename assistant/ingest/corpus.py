"""Reads paper collections into `Paper` records and dedupes them: Daily-Papers captures (.txt), JSONL, JSON (our
records or CSL-JSON), CSV, BibTeX, RIS, arXiv API Atom feeds and Zotero libraries (a data directory or its
zotero.sqlite).

Every malformed input raises `CorpusError` naming the file and line. Entries that cannot be papers (no abstract)
are `Skipped`, counted and named, never dropped silently. It does not chunk, embed or store anything (index.py
does); text is kept verbatim apart from page boilerplate and LaTeX escapes (clean_latex).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from assistant.ingest.latex import clean_latex
from assistant.ingest.readers.atom import read_atom
from assistant.ingest.readers.base import (
    CorpusError,
    Skipped,
    normalise_arxiv_id,
    normalise_title,
    paper_id_for,
    paper_url,
)
from assistant.ingest.readers.bibtex import read_bibtex
from assistant.ingest.readers.capture import read_capture
from assistant.ingest.readers.records import read_csv, read_json, read_jsonl
from assistant.ingest.readers.ris import read_ris
from assistant.ingest.readers.zotero import DATABASE, read_zotero
from assistant.types import Paper

__all__ = ["EXTENSIONS", "CorpusError", "ReadResult", "Skipped", "clean_latex", "dedupe", "normalise_title",
           "paper_id_for", "paper_url", "read_entries", "read_file", "read_paths"]

Entries = Sequence[Paper | Skipped]
_READERS: dict[str, Callable[[Path, str], Entries]] = {  # extension -> reader of the file's text
    ".txt": read_capture, ".jsonl": read_jsonl, ".json": read_json, ".csv": read_csv,
    ".bib": read_bibtex, ".ris": read_ris, ".atom": read_atom, ".xml": read_atom,
}
_BINARY: dict[str, Callable[[Path], Entries]] = {".sqlite": read_zotero}  # extension -> reader of the path
EXTENSIONS = (*_READERS, *_BINARY)
_RECORDS, _EXPORTS = (".txt", ".jsonl", ".json", ".csv"), (".bib", ".ris", ".atom", ".xml")


@dataclass(frozen=True)
class ReadResult:
    entries: list[Paper]  # every record, in file order
    papers: list[Paper]  # deduplicated (DOI, arXiv id, normalised title), first occurrence first
    files: list[Path]  # the files read, in order
    skipped: list[Skipped] = field(default_factory=list)  # entries that are not papers (no abstract), in order


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CorpusError(f"{path}: no such file") from None
    except UnicodeDecodeError as e:
        raise CorpusError(f"{path}: not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise CorpusError(f"{path}: cannot read ({e.strerror})") from None


def read_entries(path: Path) -> tuple[list[Paper], list[Skipped]]:
    """The papers in one file (or Zotero data directory) and the entries skipped, the reader chosen by extension."""
    path = Path(path)
    if path.is_dir():
        if not (path / DATABASE).is_file():
            raise CorpusError(f"{path}: is a directory (read_paths reads directories)")
        found = list(read_zotero(path))
    elif (binary := _BINARY.get(path.suffix.lower())) is not None:
        if not path.exists():
            raise CorpusError(f"{path}: no such file")
        found = list(binary(path))
    else:
        reader = _READERS.get(path.suffix.lower())
        if reader is None:
            if not path.exists():
                raise CorpusError(f"{path}: no such file")
            raise CorpusError(f"{path}: unknown format {path.suffix or '(no extension)'!r}; use one of "
                              f"{', '.join(EXTENSIONS)}")
        text = _read_text(path)
        if not text.strip():
            raise CorpusError(f"{path}: the file is empty")
        found = list(reader(path, text))
    papers = [p for p in found if isinstance(p, Paper)]
    skipped = [s for s in found if isinstance(s, Skipped)]
    if not papers:
        if skipped:
            raise CorpusError(f"{path}: no papers with an abstract in the file ({len(skipped)} entries skipped, "
                              f"the first at {skipped[0].where}: {skipped[0].reason})")
        raise CorpusError(f"{path}: no papers in the file")
    return papers, skipped


def read_file(path: Path) -> list[Paper]:
    """The papers in one file, the reader chosen by its extension (entries without an abstract left out)."""
    return read_entries(path)[0]


def _is_zotero_dir(path: Path) -> bool:
    return path.is_dir() and (path / DATABASE).is_file()


def _expand(paths: Sequence[Path]) -> Iterator[Path]:
    """Files as given; directories -> their known-format files, recursively, sorted, hidden ones skipped. A Zotero
    data directory (one holding zotero.sqlite) is one source: its storage/ attachments are not read."""
    for path in map(Path, paths):
        if not path.is_dir() or _is_zotero_dir(path):
            yield path
            continue
        found = sorted(
            p for p in path.rglob("*")
            if p.is_file() and p.suffix.lower() in EXTENSIONS
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        libraries = sorted({p.parent for p in found if p.name == DATABASE})
        # Other SQLite files met on the way (better-bibtex.sqlite, a browser's) are no libraries; named, they are.
        found = [p for p in found if not any(p.is_relative_to(lib) for lib in libraries)
                 and p.suffix.lower() not in _BINARY]
        found = sorted([*found, *libraries])
        if not found:
            raise CorpusError(f"{path}: no {', '.join(_RECORDS)} files (Daily Papers pages, records), no "
                              f"{', '.join(_EXPORTS)} exports and no Zotero {DATABASE} in this directory")
        yield from found


def _arxiv_key(arxiv_id: str) -> str:
    return "arxiv:" + re.sub(r"v\d+$", "", normalise_arxiv_id(arxiv_id) or arxiv_id).casefold()


def _keys(paper: Paper) -> list[str]:
    """What makes two records the same paper: a DOI, an arXiv id (any version), a normalised title."""
    keys = [f"title:{paper.paper_id}"]
    if paper.doi:
        keys.append(f"doi:{paper.doi.casefold()}")
    if paper.arxiv_id:
        keys.append(_arxiv_key(paper.arxiv_id))
    return keys


def _union(first: tuple[str, ...], later: tuple[str, ...]) -> tuple[str, ...]:
    seen: dict[str, str] = {}  # casefolded -> the first spelling
    for value in (*first, *later):
        seen.setdefault(value.casefold(), value)
    return tuple(seen.values())


def _merge(first: Paper, later: Paper) -> Paper:
    """`first` with what it lacks taken from a later duplicate; keywords are the union; the link is recomputed."""
    names = first.author_names or later.author_names
    merged = replace(
        first,
        author_names=names,
        author_count=first.author_count if first.author_count is not None else later.author_count,
        published=first.published or later.published,
        year=first.year or later.year,
        venue=first.venue or later.venue,
        doi=first.doi or later.doi,
        arxiv_id=first.arxiv_id or later.arxiv_id,
        record_url=first.record_url or later.record_url,
        keywords=_union(first.keywords, later.keywords),
    )
    if merged.doi or merged.arxiv_id or merged.record_url:
        return replace(merged, url=paper_url(merged.title, merged.arxiv_id, merged.record_url, merged.doi))
    return merged


def dedupe(entries: Sequence[Paper]) -> list[Paper]:
    """One paper per DOI, arXiv id or normalised title (records sharing any of them are one paper, across files and
    formats); the first occurrence wins, later ones fill what it lacks."""
    groups: list[Paper | None] = []  # the merged paper of each group, in first-seen order
    owner: dict[str, int] = {}  # key -> its group
    for paper in entries:
        hits = sorted({owner[k] for k in _keys(paper) if k in owner})
        if not hits:
            groups.append(paper)
            target = len(groups) - 1
        else:
            target, merged = hits[0], groups[hits[0]]
            for other in hits[1:]:  # this record joins two groups (a DOI in one, the title in another)
                merged = _merge(merged, groups[other])  # type: ignore[arg-type]
                groups[other] = None
                owner.update({k: target for k, g in owner.items() if g == other})
            groups[target] = _merge(merged, paper)  # type: ignore[arg-type]
        for key in _keys(groups[target]):  # type: ignore[arg-type]
            owner[key] = target
    return [g for g in groups if g is not None]


def read_paths(paths: Sequence[Path]) -> ReadResult:
    """Reads files and directories (each file once, even when named twice) and dedupes the papers."""
    files: list[Path] = []
    seen: set[Path] = set()
    for file in _expand(paths):
        key = file.resolve()
        if key not in seen:
            seen.add(key)
            files.append(file)
    entries: list[Paper] = []
    skipped: list[Skipped] = []
    for f in files:
        papers, skips = read_entries(f)
        entries += papers
        skipped += skips
    return ReadResult(entries=entries, papers=dedupe(entries), files=files, skipped=skipped)
