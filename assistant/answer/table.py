"""Review tables: one row per paper, one cell per free-text column, each cell a short value from that paper's
abstract with the sentence that supports it and the row's [n], or "not stated". Never an invented value.

A generative backend gets one small prompt per paper (`prompts/table.md`, every column at once) and answers one
line per column; each value is checked like an answer's claim (`check_value`): a number or a name the abstract
does not contain, or words it mostly lacks, and the cell is refused to "not stated". A backend that cannot write
(`extractive`) takes, per column, the abstract sentence closest to the column (embedding similarity plus shared
words), or "not stated" when none is close enough. Rows stream in as they finish. Picking the papers (a search,
an answer's sources, a list of ids or titles) is the caller's; `pick` resolves ids and titles.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assistant.answer.citations import MARKER, evidence_for, numbers_in, source_sentences
from assistant.answer.prompts import Prompts
from assistant.config import Options, Settings
from assistant.llms.base import Backend, Request
from assistant.llms.registry import BackendPool
from assistant.search.store import PaperStore
from assistant.text import content_words, fold
from assistant.types import Source, StoredChunk

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

NOT_STATED = "not stated"
MAX_PAPERS = 20
MAX_COLUMNS = 8
MAX_COLUMN_CHARS = 60
MAX_VALUE_WORDS = 30  # a model's value cut to this many words; an extractive cell is a whole sentence
HELD_AT = 0.5  # share of a value's content words the abstract must hold
CLOSE_AT = 0.3  # extractive: the best sentence's similarity to the column (cosine + shared-word bonus) needed
WORD_BONUS = 0.25  # ... a sentence holding every content word of the column gets this much on top of its cosine
TOKENS_PER_COLUMN = 28  # generation budget per column of one row
# What a model writes for "the abstract does not say".
_NONE = re.compile(r"^(?:not\s+(?:stated|mentioned|specified|given|reported|provided)|none|n/?a|unknown|"
                   r"unspecified|no information|-+|–|—)\.?$", re.I)
_LINE = re.compile(r"^\s*(?:[-*•]\s*|\d{1,2}[.)]\s*)?\**([^:*]{1,80}?)\**\s*:\s*(.*)$")
# A name: a word with a capital past its first letter (MBPP, LLaMA, GPT-4), or letters and digits mixed (7B).
_NAME = re.compile(r"\b[A-Za-z0-9][\w\-.]*\b")


class TableError(ValueError):
    """The papers or columns of a table cannot be used; the message names the bad one."""


@dataclass(frozen=True)
class Cell:
    column: str
    value: str  # NOT_STATED when the abstract does not say, or the model's value was refused
    evidence: list[str] = field(default_factory=list)  # the abstract sentence(s) that hold the value
    refused: str | None = None  # why the model's value was refused ("names GPT-4, which the abstract does not")
    proposed: str | None = None  # the model's value when it was refused

    @property
    def stated(self) -> bool:
        return self.value != NOT_STATED

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "value": self.value, "stated": self.stated, "evidence": self.evidence,
                "refused": self.refused, "proposed": self.proposed}


@dataclass(frozen=True)
class Row:
    n: int  # the row's [n]: its paper is source n of the table
    paper_id: str
    title: str
    url: str
    cells: list[Cell]
    seconds: float = 0.0
    model: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "paper_id": self.paper_id, "title": self.title, "url": self.url,
                "cells": [c.to_dict() for c in self.cells], "seconds": self.seconds, "model": self.model}


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[Row]
    model: str

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "model": self.model, "rows": [r.to_dict() for r in self.rows]}

    def to_csv(self) -> str:
        """One line per paper: n, title, url, then each column's value and its evidence."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["n", "title", "url", *[h for c in self.columns for h in (c, f"{c} (evidence)")]])
        for r in self.rows:
            writer.writerow([r.n, r.title, r.url, *[v for c in r.cells for v in (c.value, " ".join(c.evidence))]])
        return out.getvalue()

    def to_markdown(self) -> str:
        """A GFM table, each stated cell with its row's [n], then the numbered papers with their links."""
        def esc(text: str) -> str:
            return text.replace("|", "\\|").replace("\n", " ")

        lines = ["| Paper | " + " | ".join(esc(c) for c in self.columns) + " |",
                 "|---|" + "---|" * len(self.columns)]
        for r in self.rows:
            cells = [esc(f"{c.value} [{r.n}]" if c.stated else c.value) for c in r.cells]
            lines.append(f"| [{r.n}] {esc(r.title)} | " + " | ".join(cells) + " |")
        lines.append("")
        lines += [f"[{r.n}] {r.title}. {r.url}" for r in self.rows]
        return "\n".join(lines) + "\n"


def clean_columns(columns: Sequence[str]) -> list[str]:
    """The columns stripped and deduplicated; an empty, overlong or excess column is a TableError naming it."""
    out: list[str] = []
    for raw in columns:
        column = " ".join(str(raw).split())
        if not column:
            continue
        if len(column) > MAX_COLUMN_CHARS:
            raise TableError(f"column {column[:40]!r}…: at most {MAX_COLUMN_CHARS} characters")
        if ":" in column:
            raise TableError(f"column {column!r}: a column name cannot hold a colon")
        if column.casefold() not in {c.casefold() for c in out}:
            out.append(column)
    if not out:
        raise TableError("no columns: name at least one (e.g. \"task\" \"dataset\")")
    if len(out) > MAX_COLUMNS:
        raise TableError(f"{len(out)} columns: at most {MAX_COLUMNS}")
    return out


def pick(store: PaperStore, refs: Sequence[str]) -> list[StoredChunk]:
    """Papers by id ("p1a2b…") or title: the exact title, else the one title that contains the text (any case).
    Each paper once, in the order given; a ref that matches no paper, or several, is a TableError naming it."""
    refs = [r.strip() for r in refs if r.strip()]
    if not refs:
        raise TableError("no papers: give paper ids or titles")
    by_id = store.first_chunks(refs)
    missing = [r for r in refs if r not in by_id]
    titles: dict[str, str] = {}  # folded title -> paper id
    if missing:
        titles = {fold(c.title).casefold(): c.paper_id for c in store.iter_chunks() if c.position == 0}
    chosen: list[str] = []
    for ref in refs:
        if ref in by_id:
            pid = ref
        else:
            key = fold(" ".join(ref.split())).casefold()
            found = [titles[key]] if key in titles else sorted({p for t, p in titles.items() if key in t})
            if not found:
                raise TableError(f"paper {ref!r}: no paper with this id or title in the store")
            if len(found) > 1:
                raise TableError(f"paper {ref!r}: {len(found)} titles contain it; give more of the title or the id")
            pid = found[0]
        if pid not in chosen:
            chosen.append(pid)
    if len(chosen) > MAX_PAPERS:
        raise TableError(f"{len(chosen)} papers: a table holds at most {MAX_PAPERS}")
    firsts = store.first_chunks([p for p in chosen if p not in by_id]) | by_id
    return [firsts[p] for p in chosen]


def _names(value: str) -> list[str]:
    """The names a value uses: words with a capital past their first letter, or mixing letters and digits."""
    return [w for w in _NAME.findall(value)
            if re.search(r".[A-Z]", w) or (re.search(r"\d", w) and re.search(r"[A-Za-z]", w))]


def check_value(value: str, title: str, abstract: str) -> tuple[list[str], str | None]:
    """A model's value checked against the paper's abstract: (its evidence sentences, None) when the abstract
    holds it, else ([], why it is refused). Refused: a number or a name the abstract (or title) does not
    contain, fewer than HELD_AT of its content words in the abstract, or no sentence that holds it."""
    source = f"{title} {abstract}"
    folded = fold(source).casefold()
    missing = sorted(numbers_in(value) - numbers_in(source))
    if missing:
        return [], f"states {', '.join(f'{v:g}' for v in missing)}, which the abstract does not"
    absent = [n for n in _names(value) if fold(n).casefold() not in folded]
    if absent:
        return [], f"names {', '.join(absent)}, which the abstract does not"
    words = content_words(value)
    held = content_words(source)
    if not words or len(words & held) < HELD_AT * len(words):
        return [], "the abstract does not hold most of its words"
    evidence = evidence_for(value, abstract)
    if not evidence:
        return [], "no sentence of the abstract holds it"
    return evidence, None


def parse_reply(text: str, columns: list[str]) -> dict[str, str]:
    """column -> the value a model wrote for it ("task: code generation [1]"). A line is given to the column it
    names (or whose name it contains: "Dataset used: MBPP"), else, when it names no column but has a value after
    its colon, to the next column not yet given, so a reply that rewords the names still counts in order. Lines
    without a colon, and labels with nothing after the colon ("Here is the row:"), are skipped."""
    keys = {" ".join(c.casefold().split()): c for c in columns}
    out: dict[str, str] = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if m is None:
            continue
        name, value = " ".join(m.group(1).casefold().split()), " ".join(MARKER.sub("", m.group(2)).split())
        column = keys.get(name) or next((c for k, c in keys.items() if k in name and c not in out), None)
        if column is None:
            pending = [c for c in columns if c not in out]
            if not pending or not value:
                continue
            column = pending[0]
        if column not in out:
            out[column] = value.strip("*").strip()
    return out


class ReviewTables:
    """Builds review tables over one store with the app's backends, prompts and embedding model."""

    def __init__(self, settings: Settings, store: PaperStore, embedder: BaseEmbedding, backends: BackendPool,
                 prompts: Prompts | None = None) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.backends = backends
        self.prompts = prompts or Prompts(settings.prompts_dir)

    def rows(self, papers: Sequence[StoredChunk], columns: Sequence[str], options: Options) -> Iterator[Row]:
        """One Row per paper, in order, each yielded as soon as it is done. Raises TableError (papers,
        columns), BackendError (the backend cannot be built) and GenerationError."""
        columns = clean_columns(columns)
        if not papers:
            raise TableError("no papers: give paper ids or titles")
        if len(papers) > MAX_PAPERS:
            raise TableError(f"{len(papers)} papers: a table holds at most {MAX_PAPERS}")
        backend = self.backends.get(options.backend)
        for n, paper in enumerate(papers, 1):
            start = time.perf_counter()
            abstract = paper.abstract or paper.text
            cells = (self._generated(backend, n, paper, abstract, columns) if backend.generative
                     else self._extracted(abstract, columns))
            yield Row(n=n, paper_id=paper.paper_id, title=paper.title, url=paper.url, cells=cells,
                      seconds=round(time.perf_counter() - start, 3), model=backend.name)

    def table(self, papers: Sequence[StoredChunk], columns: Sequence[str], options: Options) -> Table:
        rows = list(self.rows(papers, columns, options))
        return Table(clean_columns(columns), rows, rows[0].model if rows else options.backend)

    def messages(self, n: int, paper: StoredChunk, abstract: str, columns: list[str]) -> list[Any]:
        return self.prompts.render("table", n=n, title=paper.title, abstract=abstract, columns=columns)

    def _generated(self, backend: Backend, n: int, paper: StoredChunk, abstract: str,
                   columns: list[str]) -> list[Cell]:
        source = Source(n=n, paper_id=paper.paper_id, title=paper.title, url=paper.url, score=1.0, text=abstract)
        request = Request(messages=self.messages(n, paper, abstract, columns), question=", ".join(columns),
                          sources=[source], max_tokens=TOKENS_PER_COLUMN * len(columns) + 16,
                          temperature=self.settings.llm.temperature)
        reply = parse_reply("".join(backend.generate(request)), columns)
        cells = []
        for column in columns:
            value = " ".join(reply.get(column, "").split()[:MAX_VALUE_WORDS]).rstrip(" .;,")
            if not value or _NONE.match(value):
                cells.append(Cell(column, NOT_STATED))
                continue
            evidence, why = check_value(value, paper.title, abstract)
            cells.append(Cell(column, value, evidence) if why is None
                         else Cell(column, NOT_STATED, refused=why, proposed=value))
        return cells

    def _extracted(self, abstract: str, columns: list[str]) -> list[Cell]:
        """Per column the abstract sentence closest to it, or not stated when none reaches CLOSE_AT."""
        sentences = source_sentences(abstract)
        if not sentences:
            return [Cell(c, NOT_STATED) for c in columns]
        vectors = self.embedder.get_text_embedding_batch(sentences)
        bags = [content_words(s) for s in sentences]
        cells = []
        for column in columns:
            query = self.embedder.get_query_embedding(column)
            words = content_words(column)
            scores = [sum(a * b for a, b in zip(query, v, strict=True))
                      + (WORD_BONUS * len(words & bag) / len(words) if words else 0.0)
                      for v, bag in zip(vectors, bags, strict=True)]
            best = max(range(len(sentences)), key=lambda i: (scores[i], -i))
            cells.append(Cell(column, sentences[best], [sentences[best]]) if scores[best] >= CLOSE_AT
                         else Cell(column, NOT_STATED))
        return cells
