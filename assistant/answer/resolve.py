"""Which papers of the collection a question refers to, found through the collection itself.

A paper is referred to by its name (the name table: a title prefix, an acronym it defines), by words of its
title ("the paper on instruction mining ..."), or by a description that only a search can place ("the paper that
adds a copying penalty at decoding time"). Names and long title runs are found anywhere in the question; a piece
of a list (`intent.pieces`) that holds neither is searched, and kept only when one paper clearly stands out.
Spelling is checked against the collection's own words first, so a typo in a title word still matches, and a
name written like one ("CoEnS") is matched to the collection's one name a spelling edit away ("ConES");
accents are folded on both sides ("Sabia" is "Sabiá"). A question about one paper that describes it instead of
naming it ("What does the paper that trains X without Y find?") is resolved only when the dense and the BM25
rankings of the description agree on its first paper (`Resolver.described`).

It does not decide whether the question is a comparison (`plan` does, from how many papers this finds) and
retrieves no sources.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise
from typing import NamedTuple

from assistant.answer.intent import Piece, comparison_cue, pieces
from assistant.search.keyword import COMMON_USES, NAME_WORDS, KeywordIndex, normalise_name, title_name
from assistant.search.retriever import Retriever
from assistant.text import STOPWORDS, fold

MIN_TITLE_WORDS = 3  # content words a run of title words needs to name its paper anywhere in a question ...
MIN_INTRODUCED_WORDS = 2  # ... or words in all, after "the paper on" or a quote mark
SEARCH_TOP = 5  # papers each ranking of a piece's search looks at
AGREE = 3  # a searched piece resolves to the paper first in one ranking (dense, BM25) and in this top of the other
STANDOUT = 1.5  # ... or to BM25's first paper when its score is this many times the next paper's
MIN_TYPO_NAME = 5  # a name this long (as its key: letters and digits) is still found with one spelling edit
WEAK_SHARE = 0.5  # a title run inside a list piece holds at least this share of the piece's content words
LABEL_WORDS = 6  # a column label for a paper without a name: the first words of its title
_JOINABLE = re.compile(r"^[\s\-&.'’/+\\\"]{0,3}$")  # what may stand between the words of one name
_WORD = re.compile(r"[A-Za-z0-9]+")
# What announces a title: "the paper on <title words>", "the work titled ...", an opening quote.
_INTRODUCER = re.compile(r"(?:\b(?:paper|work|study|article|one)\s+(?:on|about|titled|entitled|called|named)\s+"
                         r"|[\"'“‘])$", re.IGNORECASE)
# How a description refers to its paper, not what the paper is: "the paper that proposes", "the work introducing",
# "the one which presents". Left out of the piece's search, where they would match every abstract's "we propose".
_REFERRING_LEAD = re.compile(r"^(?:(?:the|a|an|that|this)\s+)?(?:paper|work|study|article|one|approach|method)\s+"
                             r"(?:(?:that|which|who)\s+)?(?:\w+ly\s+)?(?:proposes|proposed|introduces|introduced|"
                             r"presents|presented|describes|described|proposing|introducing|presenting|describing|"
                             r"on|about)\s+", re.IGNORECASE)
# Words that say what is asked, not which paper: a piece made only of them refers to nothing.
_QUESTION_WORDS = STOPWORDS | {
    "goal", "goals", "aim", "aims", "data", "dataset", "datasets", "result", "results", "performance", "differ",
    "difference", "differences", "similarity", "similarities", "compare", "comparison", "contrast", "common",
    "approaches", "technique", "techniques", "contribution", "contributions", "main", "key", "way", "ways",
    "efficiency", "cost", "memory", "speed", "limitations", "better", "worse", "idea", "ideas", "authors",
}


@dataclass(frozen=True)
class Token:
    text: str  # as written
    word: str  # lower-case, spelling checked against the collection
    start: int
    end: int


class Run(NamedTuple):
    """Question words start..end (token indexes) found in this order in one paper's title."""

    start: int
    end: int
    paper_id: str
    rarity: float  # summed log inverse title frequency of its content words
    content: int  # how many of its words are content words


@dataclass(frozen=True)
class Reference:
    """One paper the question refers to, where (characters start..end) and how it was found."""

    paper_id: str
    label: str  # the paper's name for a table column
    start: int
    end: int
    via: str  # "name", "title", "search" (a piece of a list) or "description" (the one paper a question describes)
    query: str  # the question's words for it, spelling checked: the sub-query that retrieves its source

    @property
    def definite(self) -> bool:
        """Whether it says which one paper is meant (a name, a title, a description both rankings agree on): a
        factual question with one such reference is about that paper, and its answer is held to it."""
        return self.via in ("name", "title", "description")


def _edits(word: str) -> set[str]:
    """Every string one deletion, transposition, substitution or insertion away."""
    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in letters}
    return deletes | swaps | replaces | {a + c + b for a, b in splits for c in letters}


def _cased(tokens: list[Token]) -> bool:
    """Written like a name: a capital past the first letter of the question, or a digit ("LiNeS", "GPT-3")."""
    text = "".join(t.text for t in tokens)
    return any(c.isupper() or c.isdigit() for c in text[1:]) or (text[:1].isupper() and tokens[0].start > 0)


def _own_mixed_case(tokens: list[Token], form: str | None) -> bool:
    """Written exactly as its paper writes a name with a capital after a small letter ("LiST", "FineWeb"): no
    ordinary word is written that way, so it is that name even where the collection also uses the plain word."""
    return bool(form and re.search(r"[a-z][A-Z]", form)
                and "".join(t.text for t in tokens) == "".join(_WORD.findall(form)))


class Resolver:
    """Resolves a question's references over one retriever's collection; cheap to make, one per question."""

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever
        self.keyword: KeywordIndex = retriever.keyword
        self.lexicon = self.keyword.lexicon

    # -- the collection's tables ---------------------------------------------------------------------------

    @cached_property
    def _title_words(self) -> dict[str, list[str]]:
        return {pid: [w.lower() for w in _WORD.findall(fold(t))] for pid, t in self.lexicon.titles.items()}

    @cached_property
    def _title_index(self) -> dict[str, list[tuple[str, int]]]:
        """title word -> (paper id, position) of every occurrence."""
        index: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for pid, words in self._title_words.items():
            for i, w in enumerate(words):
                index[w].append((pid, i))
        return index

    @cached_property
    def _title_rarity(self) -> dict[str, float]:
        counts = Counter(w for words in self._title_words.values() for w in set(words))
        n = max(1, len(self._title_words))
        return {w: math.log(n / c) for w, c in counts.items()}

    def label(self, paper_id: str, name: str | None = None) -> str:
        """A column label: the title's name before a colon, else the paper's `name` (normalised) as the paper
        writes it, else the title's first words."""
        title = self.lexicon.titles.get(paper_id, paper_id)
        if (prefix := title_name(title)) and len(prefix) <= 30:
            return prefix
        if name and name in self.lexicon.forms:
            return self.lexicon.forms[name]
        words = title.split()
        return " ".join(words[:LABEL_WORDS]) + (" …" if len(words) > LABEL_WORDS else "")

    # -- tokens and spelling ------------------------------------------------------------------------------

    def tokens(self, question: str) -> list[Token]:
        # Folded letter by letter, so positions stay the question's: "GlórIA" is the words of "GlórIA", not "Gl", "rIA".
        return [Token(m.group(), self.spell(m.group().lower()), m.start(), m.end())
                for m in _WORD.finditer(fold(question))]

    def spell(self, word: str) -> str:
        """The word, or the collection's most used word one edit away when the collection never uses it."""
        words = self.lexicon.words
        if word in words or len(word) < 4 or word.isdigit() or not words:
            return word
        near = [w for w in _edits(word) if w in words]
        return max(near, key=lambda w: (words[w], w)) if near else word

    def knows(self, word: str) -> bool:
        """Whether the collection uses the lower-case `word`, or a word one spelling edit away."""
        return word in self.lexicon.words or self.spell(word) != word

    # -- names and titles ---------------------------------------------------------------------------------

    @cached_property
    def _long_names(self) -> frozenset[str]:
        return frozenset(k for k in self.keyword.names if len(k) >= MIN_TYPO_NAME)

    def _near_name(self, key: str) -> str | None:
        """The one name of the collection a spelling edit away from `key` ("eudbert" -> "edubert"), when `key` is
        written like a name, long enough, and neither a name nor a word the collection uses."""
        if len(key) < MIN_TYPO_NAME or key in self.keyword.names or key in self.lexicon.words:
            return None
        near = [k for k in _edits(key) if k in self._long_names]
        return near[0] if len(near) == 1 else None

    def name_key(self, tokens: list[Token]) -> str:
        """The name key `tokens` spell: as spelling-checked, or the collection's one name a spelling edit from
        what was typed, when that is written like a name ("CoEnS" is "cones" to the spelling check, "ConES" here)."""
        key = "".join(t.word for t in tokens)
        written = "".join(t.text.lower() for t in tokens)  # before the spelling check, which knows no names
        if key not in self.keyword.names and _cased(tokens) and (near := self._near_name(written)):
            return near
        return key

    def _name_owners(self, key: str, tokens: list[Token], exact_piece: bool) -> list[str]:
        """The papers a name written as `tokens` stands for, or [] when it is an ordinary word there."""
        owners = self.keyword.names.get(key, [])
        form = self.lexicon.forms.get(key)
        if not owners or (form and len(tokens) > len(_WORD.findall(form))):
            return []  # "of a" is no "OFA": a name is not written in more words than its paper writes it
        if _own_mixed_case(tokens, form):
            return owners  # "LiST" as its paper writes it, though "list" is an ordinary word elsewhere
        other, plain = self.lexicon.name_uses.get(key, [0, 0])
        own_title = any(normalise_name(title_name(self.lexicon.titles.get(p, "")) or "") == key for p in owners)
        if other >= COMMON_USES and (plain or not own_title):
            return []
        if plain and not (_cased(tokens) or exact_piece):
            return []  # "lines", "star": ordinary words unless written like a name or standing alone as an item
        return owners

    def name_mentions(self, question: str, tokens: list[Token], parts: list[Piece]) -> list[Reference]:
        """Longest names first, never overlapping: "ARBERT & MARBERT" before "ARBERT"."""
        found: list[Reference] = []
        taken: set[int] = set()
        for n in range(NAME_WORDS, 0, -1):
            for i in range(len(tokens) - n + 1):
                run = tokens[i:i + n]
                if taken & set(range(i, i + n)) or not all(
                        _JOINABLE.match(question[a.end:b.start]) for a, b in pairwise(run)):
                    continue
                start, end = run[0].start, run[-1].end
                exact = any(p.start == start and p.end == end for p in parts)  # the whole of a list item
                key = self.name_key(run)
                owners = self._name_owners(key, run, exact)
                if not owners:
                    continue
                pid = owners[0] if len(owners) == 1 else self._best_of(owners, question[start:end])
                typed = "".join(t.word for t in run)
                words = " ".join(t.word for t in run) if key == typed else self.lexicon.forms.get(key, key)
                found.append(Reference(pid, self.label(pid, key), start, end, "name", words))
                taken |= set(range(i, i + n))
        return found

    def _best_of(self, owners: list[str], query: str) -> str:
        """Of the papers sharing a name, the one whose own title carries it, else the one a search ranks first."""
        for pid in owners:
            if normalise_name(title_name(self.lexicon.titles.get(pid, "")) or "") == normalise_name(query):
                return pid
        ranked = [h.paper_id for h in self.retriever.search(query, SEARCH_TOP)]
        return min(owners, key=lambda p: ranked.index(p) if p in ranked else len(ranked))

    def title_runs(self, tokens: list[Token]) -> list[Run]:
        """Maximal runs of question words found in that order in exactly one title (or that are the whole of
        one title)."""
        runs: list[Run] = []
        for i, tok in enumerate(tokens):
            best: dict[str, int] = {}
            for pid, pos in self._title_index.get(tok.word, []):
                words, n = self._title_words[pid], 0
                while i + n < len(tokens) and pos + n < len(words) and tokens[i + n].word == words[pos + n]:
                    n += 1
                best[pid] = max(best.get(pid, 0), n)
            if not best:
                continue
            length = max(best.values())
            owners = [p for p, n in best.items() if n == length]
            if len(owners) > 1:  # "A Survey of Large Language Models" beside "... for European Languages"
                owners = [p for p in owners if len(self._title_words[p]) == length]
            if len(owners) != 1 or (runs and runs[-1].end >= i + length):
                continue  # shared by several titles, or inside a longer run already found
            content = [t.word for t in tokens[i:i + length] if t.word not in STOPWORDS]
            rarity = sum(self._title_rarity.get(w, 0.0) for w in content)
            runs.append(Run(i, i + length, owners[0], rarity, len(content)))
        return runs

    def title_mentions(self, question: str, tokens: list[Token], weak: bool = False) -> list[Reference]:
        """Title runs long enough to name their paper, or announced as a title ("the paper on ..."); `weak`
        (within a list piece) takes any run with two content words or one word no other title uses."""
        found: list[tuple[int, Reference]] = []  # (content words, reference)
        unique = math.log(max(2, len(self._title_words)))  # the rarity of a word only one title uses
        # Within a piece, a run must be most of what the piece says: one title word inside a description ("the
        # one that compresses tokens to cut training cost") is no reference to that title.
        said = sum(t.word not in _QUESTION_WORDS for t in tokens)
        for run in self.title_runs(tokens):
            i, j, content = run.start, run.end, run.content
            introduced = bool(_INTRODUCER.search(question[:tokens[i].start])) and j - i >= MIN_INTRODUCED_WORDS
            if content >= MIN_TITLE_WORDS or (introduced and content) or \
                    (weak and (content >= 2 or run.rarity >= unique) and content >= said * WEAK_SHARE):
                text = " ".join(t.word for t in tokens[i:j])
                ref = Reference(run.paper_id, self.label(run.paper_id), tokens[i].start, tokens[j - 1].end, "title",
                                text)
                found.append((content, ref))
        # Overlapping runs ("on fine-tuning large" of one title, "fine-tuning large neural language models" of
        # another): the one with more content words.
        kept: list[Reference] = []
        for _, ref in sorted(found, key=lambda cr: (-cr[0], cr[1].start)):
            if not any(_overlaps(ref, k) for k in kept):
                kept.append(ref)
        return sorted(kept, key=lambda r: r.start)

    # -- search ---------------------------------------------------------------------------------------------

    def _bm25_scored(self, query: str) -> list[tuple[str, float]]:
        """The best papers for `query` by BM25, each with its best chunk's score, best first."""
        best: dict[str, float] = {}
        for n in self.keyword.search(query, SEARCH_TOP * 3):
            best.setdefault(str(n.node.metadata["paper_id"]), float(n.score or 0.0))
        return list(best.items())[:SEARCH_TOP]

    def _bm25(self, query: str) -> list[str]:
        return [pid for pid, _ in self._bm25_scored(query)]

    def searched(self, piece: Piece, tokens: list[Token]) -> Reference | None:
        """The paper a piece describes: first in the dense or the BM25 ranking of the piece's words and near the
        top of the other; or first by BM25 by a wide margin (a description's rare words, which a small embedding
        model blurs); or the one paper using a word of it. What only says how the piece refers ("the paper that
        proposes") is not searched."""
        words = [t.word for t in tokens if piece.covers(t.start, t.end)]
        if not [w for w in words if w not in _QUESTION_WORDS]:
            return None
        query = " ".join(words)
        if (lead := _REFERRING_LEAD.match(query)) and lead.end() < len(query):
            query = query[lead.end():]
        dense = [h.paper_id for h in self.retriever.search(query, SEARCH_TOP, hybrid=False, rerank=False)]
        scored = self._bm25_scored(query)
        bm25 = [pid for pid, _ in scored]
        agreed = [a[0] for a, b in ((bm25, dense), (dense, bm25)) if a and a[0] in b[:AGREE]]
        # Both tops may qualify: the one ranked better overall (BM25's on a tie: a description's rare words).
        pid = min(agreed, key=lambda p: dense.index(p) + bm25.index(p)) if agreed else None
        if pid is None and len(scored) >= 2 and scored[0][1] >= STANDOUT * scored[1][1] > 0:
            pid = scored[0][0]
        if pid is None:
            # A word no other paper uses ("JABER", "StructFormer") points at its paper whatever the rest says.
            rare = [w for w in words if self.lexicon.words.get(w) == 1 and w not in _QUESTION_WORDS]
            pid = next(iter(self._bm25(rare[0])), None) if rare else None
        return Reference(pid, self.label(pid), piece.start, piece.end, "search", query) if pid else None

    def described(self, question: str) -> Reference | None:
        """The one paper a question describes instead of naming ("What does the paper that trains a reward model
        without step labels find?"), when the dense and the BM25 ranking of the description both put it first;
        None when they disagree, for a description that could be several papers'."""
        m = _ONE_DESCRIBED.search(question)
        if not m:
            return None
        words = [t.word for t in self.tokens(question) if m.start() <= t.start and t.end <= m.end()]
        query = " ".join(words)
        if (lead := _REFERRING_LEAD.match(query)) and lead.end() < len(query):
            query = query[lead.end():]
        if not [w for w in query.split() if w not in _QUESTION_WORDS]:
            return None
        dense = self.retriever.search(query, 1, hybrid=False, rerank=False)
        bm25 = self._bm25(query)
        if not dense or not bm25 or dense[0].paper_id != bm25[0]:
            return None
        pid = bm25[0]
        return Reference(pid, self.label(pid), m.start(), m.end(), "description", query)

    # -- all together -------------------------------------------------------------------------------------

    def references(self, question: str, *, lists: bool = True) -> list[Reference]:
        """The papers the question refers to, in the order it mentions them, each once. With `lists`, when the
        question compares ("vs", "differ", "each" ...), the pieces of its list that hold no name or title run
        are matched to titles loosely and then searched."""
        tokens = self.tokens(question)
        rough = pieces(question)
        names = self.name_mentions(question, tokens, rough)
        titles = self.title_mentions(question, tokens)
        # Where a name and a title run overlap, the longer wins: "the paper on revisiting SMoE language models"
        # is that title, not the acronym inside it.
        found = [r for r in names if not any(_overlaps(r, t) and t.end - t.start > r.end - r.start for t in titles)]
        found += [t for t in titles if not any(_overlaps(t, f) for f in found)]
        parts = pieces(question, [(r.start, r.end) for r in found])
        named = [p for p in parts if any(_overlaps_piece(r, p) for r in found)]
        # Loose matching only for a list of papers: a comparing word, and no piece holding a name is a clause
        # ("How much time does HFT save compared with full fine-tuning?" compares HFT with a setting, not a paper).
        if not lists or len(parts) < 2 or not comparison_cue(question) or not all(p.referring for p in named):
            parts = []
        parts = _joined_descriptions(question, parts, named)
        for piece in parts:
            if piece in named or not piece.referring:
                continue
            inside = [t for t in tokens if piece.covers(t.start, t.end)]
            weak = self.title_mentions(question, inside, weak=True) if inside else []
            found += [r for r in weak if not any(_overlaps(r, f) for f in found)][:1]
            if not weak and (ref := self.searched(piece, tokens)):
                found.append(ref)
        found.sort(key=lambda r: r.start)
        seen: set[str] = set()
        return [r for r in found if r.paper_id not in seen and not seen.add(r.paper_id)]


# One paper described by what it does, to the end of its clause: "the paper that trains X without Y" in "What does
# the paper that trains X without Y find?"; "the papers that ..." asks for several.
_ONE_DESCRIBED = re.compile(r"\b(?:the|a|an)\s+(?:paper|work|study|article)\s+(?:that|which|who)\s+[^.?!;,]+",
                            re.IGNORECASE)
# A description of a paper by what it does ("the paper that proposes ..."), and the start of another reference.
_DESCRIBES = re.compile(r"^(?:the|a|an)\s+(?:paper|work|study|article|one)\s+(?:that|which|who)\b", re.IGNORECASE)
_REFERS = re.compile(r"^(?:the|a|an|this|that)\s+(?:\w+\s+){0,2}?(?:paper|work|study|article|one|approach|method)\b",
                     re.IGNORECASE)


def _joined_descriptions(question: str, parts: list[Piece], named: list[Piece]) -> list[Piece]:
    """A description cut at its own "and" or comma ("the paper that proposes Synthesize by Retrieval" + "Refinement")
    made whole again: a piece after a description is part of it unless it holds a name or a title, or starts a
    reference of its own ("the one that ...")."""
    out: list[Piece] = []
    for piece in parts:
        last = out[-1] if out else None
        if last is not None and _DESCRIBES.match(last.text) and last not in named and piece not in named \
                and piece.referring and not _REFERS.match(piece.text):
            out[-1] = Piece(last.start, piece.end, question[last.start:piece.end], referring=True)
        else:
            out.append(piece)
    return out


def _overlaps(a: Reference, b: Reference) -> bool:
    return a.start < b.end and b.start < a.end


def _overlaps_piece(r: Reference, p: Piece) -> bool:
    return r.start < p.end and p.start < r.end
