"""What every reader shares: the error type, stable paper ids, paper links and building a clean `Paper`.

Ids and links depend only on the title (and an arXiv id or URL when a record has one), never on the file.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any
from urllib.parse import quote_plus

from assistant.ingest.latex import clean_latex
from assistant.types import Paper

_ARXIV_NEW = re.compile(r"^\d{2}(?:0[1-9]|1[0-2])\.\d{4,5}(?:v\d+)?$")  # 2305.10314, 2305.10314v2
_ARXIV_OLD = re.compile(r"^[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?$")  # hep-th/9901001, math.GT/0309136
_SEARCH = "https://arxiv.org/search/?query="


class CorpusError(ValueError):
    """A collection file cannot be read; the message starts with "file:line:" (or "file:") to act on."""


def normalise_title(title: str) -> str:
    """Casefolded NFKC text with punctuation and whitespace runs reduced to single spaces."""
    text = unicodedata.normalize("NFKC", title).casefold()
    words = " ".join(re.sub(r"[^\w]+", " ", text).split())
    # A title of punctuation only would otherwise share the id of every other such title.
    return words or " ".join(text.split())


def paper_id_for(title: str) -> str:
    """"p" + 12 hex digits of sha256(normalised title): the same on every run and machine."""
    return "p" + hashlib.sha256(normalise_title(title).encode()).hexdigest()[:12]


def normalise_arxiv_id(value: str) -> str | None:
    """The bare id ("arXiv:2305.10314v2" -> "2305.10314v2"), or None when it is not an arXiv id."""
    value = value.strip()
    if value[:6].casefold() == "arxiv:":
        value = value[6:].strip()
    return value if _ARXIV_NEW.match(value) or _ARXIV_OLD.match(value) else None


def is_search_url(url: str) -> bool:
    return url.startswith(_SEARCH)


def paper_url(title: str, arxiv_id: str | None = None, url: str | None = None) -> str:
    """The record's own URL, else its arXiv abstract page, else arXiv's title search for it."""
    if url:
        return url
    bare = normalise_arxiv_id(arxiv_id) if arxiv_id else None
    if bare:
        return f"https://arxiv.org/abs/{bare}"
    return f"{_SEARCH}{quote_plus(title)}&searchtype=title"


def make_paper(title: str, abstract: str, where: str, origin: str, **extra: Any) -> Paper:
    """A `Paper` with LaTeX escapes turned into text; `where` ("file:line") prefixes any error."""
    title = " ".join(clean_latex(title).split())
    abstract = clean_latex(abstract).strip()
    for name, value in (("title", title), ("abstract", abstract)):
        if not value:
            raise CorpusError(f"{where}: the {name} is empty")
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
