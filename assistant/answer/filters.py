"""Filters a question states in its own words: "since 2024", "in 2023", "before 2022", "between 2021 and 2023",
"by Smith", "in ACL". Parsed without a model.

Years are read from their phrasing alone. An author or a venue counts only when the collection has one of that
name (`search.filters.FilterIndex`), so "methods proposed by Google" or "in LoRA" stay part of the question.
The phrases found are cut from the question that retrieval sees. Applying filters is `search`'s job.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant.config import Filters
from assistant.search.filters import FilterIndex

_Y = r"((?:19|20)\d\d)"
_NAME = r"[A-Z][\w'’\-]*\.?"  # one capitalised word of a name or venue ("O'Neil", "Smith-Jones", "J.")
_PARTICLE = r"(?:van|von|de|der|den|di|da|du|la|le|del|dos|bin)"

# (pattern, what it means): each pattern's year groups, in order.
_YEAR_PHRASES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"\b(?:published\s+)?(?:between|from)\s+{_Y}\s*(?:and|to|until|-|–)\s*{_Y}\b", re.I), "range"),
    (re.compile(rf"\b{_Y}\s*(?:-|–|to)\s*{_Y}\b"), "range"),
    (re.compile(rf"\b(?:published\s+)?(?:since|from)\s+{_Y}(?:\s+onwards?|\s+on(?=\s*(?:[?.!,;]|$)))?", re.I),
     "since"),  # "from 2024 on" ends there: "since 2021 on X" keeps its "on"
    (re.compile(rf"\b(?:published\s+)?(?:after)\s+{_Y}\b", re.I), "after"),
    (re.compile(rf"\b(?:published\s+)?(?:before|prior\s+to)\s+{_Y}\b", re.I), "before"),
    (re.compile(rf"\b(?:published\s+)?(?:until|through|up\s+to)\s+{_Y}\b", re.I), "until"),
    (re.compile(rf"\b(?:published\s+)?(?:in|during|of|from)\s+(?:the\s+year\s+)?{_Y}\b", re.I), "in"),
]
_AUTHOR = re.compile(rf"\b(?:(?:authored|written|published)\s+)?by\s+((?:{_NAME}|{_PARTICLE})(?:\s+(?:{_NAME}|"
                     rf"{_PARTICLE})){{0,3}})(?:\s+et\s+al\.?|\s+and\s+colleagues)?")
_VENUE = re.compile(rf"\b(?:(?:published|presented|accepted|appeared?)\s+)?(?:in|at|to)\s+(?:the\s+)?((?:{_NAME}|"
                    rf"&)(?:\s+(?:{_NAME}|&|of|on|for|and)){{0,5}})")


@dataclass(frozen=True)
class Parsed:
    filters: Filters
    question: str  # the question without the phrases that stated the filters


def _years(kind: str, ys: list[int]) -> tuple[int | None, int | None]:
    if kind == "range":
        return min(ys), max(ys)
    y = ys[0]
    return {"since": (y, None), "after": (y + 1, None), "before": (None, y - 1), "until": (None, y),
            "in": (y, y)}[kind]


def _known(words: str, known: Callable[[str], bool]) -> str | None:
    """The longest leading run of `words` the collection knows ("Smith on retrieval" -> "Smith")."""
    parts = words.split()
    for n in range(len(parts), 0, -1):
        candidate = " ".join(parts[:n]).rstrip(".")
        if candidate.lower() not in {"of", "on", "for", "and", "&"} and known(candidate):
            return candidate
    return None


def parse_filters(question: str, index: FilterIndex) -> Parsed:
    """The filters `question` states and the question without them. Unknown names are left in the question."""
    spans: list[tuple[int, int]] = []
    year_from = year_to = None
    for pattern, kind in _YEAR_PHRASES:
        m = pattern.search(question)
        if m and not any(a < m.end() and m.start() < b for a, b in spans):
            year_from, year_to = _years(kind, [int(g) for g in m.groups()])
            spans.append(m.span())
            break

    def named(pattern: re.Pattern[str], known: Callable[[str], bool]) -> str | None:
        for m in pattern.finditer(question):
            if any(a < m.end() and m.start() < b for a, b in spans):
                continue
            if name := _known(m.group(1), known):
                end = m.start(1) + len(name)
                tail = re.match(r"\.?(?:\s+et\s+al\.?|\s+and\s+colleagues)?", question[end:])
                spans.append((m.start(), end + (tail.end() if tail else 0)))
                return name
        return None

    author = named(_AUTHOR, index.is_author)
    venue = named(_VENUE, index.is_venue)
    filters = Filters(year_from=year_from, year_to=year_to, author=author, venue=venue)
    rest = question
    for a, b in sorted(spans, reverse=True):
        rest = rest[:a] + " " + rest[b:]
    rest = re.sub(r"\s+([?.!,;:])", r"\1", re.sub(r"\s+", " ", rest)).strip()
    return Parsed(filters, rest if filters.active and rest.strip(" ?.!") else question)
