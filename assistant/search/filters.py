"""Year, author and venue filters over one collection: which papers pass, as a Chroma `where` for dense search and
as a set of paper ids for BM25, so both searches rank only what passes.

`FilterIndex` reads each paper's metadata once per store revision (year, authors, venue). It also tells question
parsing (`answer.filters`) which names are authors and venues of this collection. Parsing questions is not done
here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.config import Filters
from assistant.search.store import PaperStore
from assistant.text import fold


def _words(text: str) -> str:
    """Folded, lowercased, single-spaced words: "Proceedings of ACL-2023" -> "proceedings of acl 2023"."""
    return " ".join(re.findall(r"[a-z0-9]+", fold(text).lower()))


def contains_words(haystack: str, needle: str) -> bool:
    """`needle`'s words appear in `haystack` as whole words, in order ("acl" is in "acl 2023", not "naacl")."""
    n = _words(needle)
    return bool(n) and f" {n} " in f" {haystack} "


# Acronyms whose letters are not the initials of the venue's name.
_ACRONYM_ALIASES = {"neurips": "nips"}


def initials(venue: str) -> str:
    """The initials of a venue's capitalised words, lowercased: "Proceedings of the 60th Annual Meeting of the
    Association for Computational Linguistics" -> "pamacl", in which "acl" is a run."""
    return "".join(w[0] for w in re.findall(r"[A-Za-z][\w'-]*", fold(venue)) if w[0].isupper()).lower()


def venue_matches(facts: PaperFacts, name: str) -> bool:
    """The venue's words hold `name` ("ACL" in "ACL 2023"), or `name` is an acronym (3 letters or more) written by
    a run of the venue's initials ("ACL" for "... Association for Computational Linguistics")."""
    if not facts.venue:
        return False
    if contains_words(facts.venue, name):
        return True
    letters = re.sub(r"[^a-z]", "", fold(name).lower())
    letters = _ACRONYM_ALIASES.get(letters, letters)
    return len(letters) >= 3 and " " not in name.strip() and letters in facts.venue_initials


@dataclass(frozen=True)
class PaperFacts:
    year: int | None
    authors: tuple[str, ...]  # each name as _words()
    venue: str  # as _words(); "" when unknown
    venue_initials: str = ""  # initials(venue)


@dataclass
class FilterIndex:
    """paper id -> its year, authors and venue, for one revision of one collection."""

    revision: int
    facts: dict[str, PaperFacts] = field(default_factory=dict)

    @classmethod
    def build(cls, store: PaperStore) -> FilterIndex:
        index = cls(store.revision())
        for chunk in store.iter_chunks():
            if chunk.paper_id not in index.facts or chunk.position == 0:
                index.facts[chunk.paper_id] = PaperFacts(chunk.year, tuple(_words(a) for a in chunk.authors),
                                                         _words(chunk.venue or ""), initials(chunk.venue or ""))
        return index

    def passes(self, facts: PaperFacts, filters: Filters) -> bool:
        if filters.year_from is not None and (facts.year is None or facts.year < filters.year_from):
            return False
        if filters.year_to is not None and (facts.year is None or facts.year > filters.year_to):
            return False
        if filters.author and not any(contains_words(a, filters.author) for a in facts.authors):
            return False
        return not filters.venue or venue_matches(facts, filters.venue)

    def allowed(self, filters: Filters) -> frozenset[str]:
        """The papers that pass every filter (all papers when none is set)."""
        return frozenset(pid for pid, f in self.facts.items() if self.passes(f, filters))

    def is_author(self, name: str) -> bool:
        """Whether some paper of the collection has an author of this name (a surname, or a full name)."""
        return any(contains_words(a, name) for f in self.facts.values() for a in f.authors)

    def is_venue(self, name: str) -> bool:
        return any(venue_matches(f, name) for f in self.facts.values())

    @property
    def has_years(self) -> bool:
        return any(f.year is not None for f in self.facts.values())


def chroma_where(filters: Filters, allowed: frozenset[str]) -> dict | None:
    """The Chroma `where` that keeps only `allowed` papers: the year range as native comparisons, author and venue
    (substring matches Chroma metadata cannot express) as the ids that passed them."""
    clauses: list[dict] = []
    if filters.year_from is not None:
        clauses.append({"year": {"$gte": filters.year_from}})
    if filters.year_to is not None:
        clauses.append({"year": {"$lte": filters.year_to}})
    if filters.author or filters.venue:
        clauses.append({"paper_id": {"$in": sorted(allowed)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
