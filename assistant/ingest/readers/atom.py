"""Reads arXiv API responses saved to a file (.atom or .xml: `curl 'http://export.arxiv.org/api/query?...'`),
with feedparser.

Fields: title, summary (the abstract, its hard line breaks joined), authors, published, the arXiv id from
<id>, arxiv:doi, arxiv:journal_ref (as the venue) and the categories (as keywords). An error feed from the API
(a single entry titled "Error") and XML that is not well-formed are errors naming the file and line.
"""

from __future__ import annotations

import io
import xml.sax
from pathlib import Path

from assistant.ingest.readers.base import CorpusError, Skipped, find_arxiv_id, paper_or_skip
from assistant.types import Paper

_API_ERROR = "arxiv.org/api/errors"


def _line_of(text: str, needle: str, default: str) -> str:
    pos = text.find(needle) if needle else -1
    return str(text.count("\n", 0, pos) + 1) if pos >= 0 else default


def read_atom(path: Path, text: str) -> list[Paper | Skipped]:
    import feedparser

    # A stream, never the text itself: feedparser fetches a string that looks like a URL.
    feed = feedparser.parse(io.BytesIO(text.encode("utf-8")), resolve_relative_uris=False, sanitize_html=False)
    problem = feed.get("bozo_exception")
    if isinstance(problem, xml.sax.SAXParseException):
        raise CorpusError(f"{path}:{problem.getLineNumber()}: not well-formed XML ({problem.getMessage()})")
    if not feed.version.startswith("atom"):
        raise CorpusError(f"{path}: not an Atom feed (expected an arXiv API response: <feed> with <entry> items)")
    out: list[Paper | Skipped] = []
    for i, entry in enumerate(feed.entries, 1):
        entry_id = entry.get("id", "")
        line = _line_of(text, f">{entry_id}<", "")
        where = f"{path}:{line}" if line else f"{path}: entry {i}"
        if _API_ERROR in entry_id:
            raise CorpusError(f"{where}: the file is an arXiv API error response: {entry.get('summary', '').strip()}")
        categories = [t.get("term", "") for t in entry.get("tags", [])]
        out.append(paper_or_skip(
            entry.get("title"), " ".join(entry.get("summary", "").split()), where,
            f"{path.name}:{line}" if line else f"{path.name}#{i}", key=entry_id,
            authors=[a.get("name", "") for a in entry.get("authors", [])],
            published=(entry.get("published") or "")[:10] or None, doi=entry.get("arxiv_doi"),
            venue=entry.get("arxiv_journal_ref"), keywords=categories,
            arxiv_id=find_arxiv_id(entry_id, entry.get("link")),
        ))
    return out
