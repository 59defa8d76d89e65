"""Small text utilities shared by prompting, citation checking and the extractive backend.

Sentence splitting and content-word overlap only; no models, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_ABBREV = re.compile(r"\b(?:e\.g|i\.e|et al|etc|vs|cf|Fig|Eq|approx|resp|No|Sec|Tab)\.$", re.IGNORECASE)
# A candidate sentence end: . ! ? then space then an upper-case letter, digit, [ or quote.
_SENT_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\[\"'(“])")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]*|\d+(?:\.\d+)?%?")

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most my
    myself no nor not now of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your yours
    yourself yourselves paper papers propose proposed approach method methods model models use used using
    show shows based work new our results via however across well one two three may also many much within
    without among two both these study present introduce introduces""".split()
)


def fold(text: str) -> str:
    """Accents dropped letter by letter ("Sabiá" -> "Sabia", "TÜLU" -> "TULU"), every other character kept, so
    positions in the folded text are positions in `text`."""
    if text.isascii():
        return text
    return "".join(_fold_char(c) for c in text)


@lru_cache(maxsize=4096)
def _fold_char(c: str) -> str:
    base = [b for b in unicodedata.normalize("NFKD", c) if not unicodedata.combining(b)]
    return base[0] if len(base) == 1 else c


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences; keeps markdown table rows and list items as their own units."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("|") or re.match(r"^([-*•]|\d+\.)\s", line):
            out.append(line)
            continue
        out.extend(_join_abbreviations(_SENT_END.split(line)))
    return out


def _join_abbreviations(pieces: list[str]) -> list[str]:
    merged: list[str] = []
    for piece in (p.strip() for p in pieces):
        if not piece:
            continue
        if merged and _ABBREV.search(merged[-1]):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged


@lru_cache(maxsize=4096)
def _stem(word: str) -> str:
    """Crude suffix stripping, repeated until nothing changes, so that a stem is its own stem ("licenses",
    "licensed" and "license" all end as "licen")."""
    while (shorter := _strip_suffix(word)) != word:
        word = shorter
    return word


def _strip_suffix(word: str) -> str:
    for suffix in ("ingly", "edly", "ation", "ations", "ings", "ing", "ies", "es", "ed"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    # A plural "s" from four letters on ("GPUs", "LLMs" are "GPU", "LLM"), never "ss" ("loss"); a final "e" from
    # five, so that "license" meets the "licens" of "licensed" and "licenses".
    if len(word) >= 4 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word[:-1] if len(word) >= 5 and word.endswith("e") and not word.endswith("ee") else word


def content_words(text: str) -> set[str]:
    """Lower-cased, crudely stemmed words that carry meaning (stopwords dropped)."""
    return {_stem(w.lower()) for w in _WORD.findall(text) if w.lower() not in STOPWORDS and len(w) > 1}


def overlap(claim: str, evidence: str | set[str]) -> float:
    """Share of the claim's content words that occur in the evidence (0..1)."""
    words = content_words(claim)
    if not words:
        return 0.0
    ev = evidence if isinstance(evidence, set) else content_words(evidence)
    return len(words & ev) / len(words)


def approx_tokens(text: str) -> int:
    """A cheap token estimate (≈ 1.3 tokens a word for English with a BPE vocabulary)."""
    return int(len(text.split()) * 1.3) + 1
