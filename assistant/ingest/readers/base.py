"""What every reader shares: the error type, stable paper ids, paper links and building a clean `Paper`.

Ids depend only on the title; links on the DOI, arXiv id or URL a record has (base.paper_url), never on the file.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from assistant.ingest.latex import clean_latex
from assistant.types import Paper

_ARXIV_NEW = re.compile(r"^\d{2}(?:0[1-9]|1[0-2])\.\d{4,5}(?:v\d+)?$")  # 2305.10314, 2305.10314v2
_ARXIV_OLD = re.compile(r"^[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?$")  # hep-th/9901001, math.GT/0309136
_SEARCH = "https://arxiv.org/search/?query="
_DOI = re.compile(r"10\.\d{4,9}/\S+")
# "arxiv.org/abs/ID", "arXiv:ID [cs]", "10.48550/arXiv.ID": the shortest run ending in a digit before a separator.
_ARXIV_IN_TEXT = re.compile(r"(?:arxiv\.org/(?:abs|pdf)/|arxiv[:.]\s*|10\.48550/arxiv\.)"
                            r"([\w.\-/]+?\d(?:v\d+)?)(?:\.pdf|\.)?(?=$|[\s\]\[);,])", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(1[6-9]\d\d|20\d\d)(?!\d)")


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


def normalise_doi(value: str) -> str | None:
    """The bare DOI ("https://doi.org/10.1/X" or "doi:10.1/X" -> "10.1/X"), or None when it is not one."""
    m = _DOI.search(value.strip())
    return m.group(0).rstrip(".,;") if m else None


def find_arxiv_id(*texts: str | None) -> str | None:
    """The first arXiv id in free text: an arXiv URL, "arXiv:2305.10314", or the arXiv DOI 10.48550/arXiv.X."""
    for text in texts:
        for m in _ARXIV_IN_TEXT.finditer(text or ""):
            if found := normalise_arxiv_id(m.group(1)):
                return found
    return None


def year_of(text: str | None) -> int | None:
    """The year in a date as given ("Oct 22, 2024", "2023-05-17", "2023/05//"), or None."""
    m = _YEAR.search(text or "")
    return int(m.group(1)) if m else None


def given_family(name: str) -> str:
    """"Family, Given" (BibTeX, RIS) -> "Given Family"; "Family, Jr, Given" -> "Given Family, Jr"; else as given."""
    parts = [p.strip() for p in name.split(",")]
    if len(parts) == 2 and all(parts):
        return f"{parts[1]} {parts[0]}"
    if len(parts) == 3 and all(parts):
        return f"{parts[2]} {parts[0]}, {parts[1]}"
    return " ".join(name.split())


def is_search_url(url: str) -> bool:
    return url.startswith(_SEARCH)


def paper_url(title: str, arxiv_id: str | None = None, url: str | None = None, doi: str | None = None) -> str:
    """The DOI's page, else the arXiv abstract page, else the record's own URL, else arXiv's title search.

    A DOI and an arXiv id are stable; a record's URL is often a PDF or a publisher page that moves."""
    bare_doi = normalise_doi(doi) if doi else None
    if bare_doi:
        return f"https://doi.org/{bare_doi}"
    bare = normalise_arxiv_id(arxiv_id) if arxiv_id else None
    if bare:
        return f"https://arxiv.org/abs/{bare}"
    if url:
        return url
    return f"{_SEARCH}{quote_plus(title)}&searchtype=title"


@dataclass(frozen=True)
class Skipped:
    """An entry read but not kept (no abstract, say): counted, and listed by `ingest --verbose`."""

    where: str  # "file:line" (or "file: item 7" where the format has no lines)
    title: str  # the entry's title, or its key when it has none
    reason: str  # "no abstract"


def _clean(value: str | None) -> str | None:
    return " ".join(clean_latex(value).split()) or None if value else None


def _clean_all(values: Any) -> tuple[str, ...]:
    out: dict[str, str] = {}  # casefolded -> first spelling
    for value in values or ():
        if text := _clean(value):
            out.setdefault(text.casefold(), text)
    return tuple(out.values())


def make_paper(title: str, abstract: str, where: str, origin: str, **extra: Any) -> Paper:
    """A `Paper` with LaTeX escapes turned into text; `where` ("file:line") prefixes any error.

    `extra`: authors (names), author_count, published (the date as given), year, venue, doi, arxiv_id, url
    (the record's own), keywords."""
    title = " ".join(clean_latex(title).split())
    abstract = clean_latex(abstract).strip()
    for name, value in (("title", title), ("abstract", abstract)):
        if not value:
            raise CorpusError(f"{where}: the {name} is empty")
    arxiv_id = extra.get("arxiv_id") or None
    doi = normalise_doi(extra["doi"]) if extra.get("doi") else None
    url = extra.get("url") or None
    names = tuple(n.replace(";", ",") for n in _clean_all(extra.get("authors")))  # "; " joins names in the store
    published = _clean(extra.get("published"))
    count = extra.get("author_count")
    return Paper(
        paper_id=paper_id_for(title),
        title=title,
        abstract=abstract,
        url=paper_url(title, arxiv_id, url, doi),
        author_names=names,
        author_count=count if count is not None else (len(names) or None),
        published=published,
        arxiv_id=arxiv_id,
        origin=origin,
        year=extra.get("year") or year_of(published),
        venue=_clean(extra.get("venue")),
        doi=doi,
        keywords=tuple(k.replace(";", ",") for k in _clean_all(extra.get("keywords"))),
        record_url=url,
    )


def paper_or_skip(title: str | None, abstract: str | None, where: str, origin: str, key: str = "",
                  **extra: Any) -> Paper | Skipped:
    """For formats whose entries need not have an abstract (a BibTeX book, a Zotero web page): those are
    `Skipped`, named by `where` and their title (or `key`)."""
    clean_title = " ".join(clean_latex(title or "").split())
    if not clean_title:
        return Skipped(where, key or "(untitled)", "no title")
    if not clean_latex(abstract or "").strip():
        return Skipped(where, clean_title, "no abstract")
    return make_paper(clean_title, abstract or "", where, origin, **extra)
