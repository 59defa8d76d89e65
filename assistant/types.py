"""The records that flow through the system: Paper -> Chunk -> Source -> Citation -> Answer.

Plain frozen dataclasses with no behaviour beyond (de)serialisation; modules that need more own it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class QuestionKind(StrEnum):
    """What a question asks for; a StrEnum, so it compares equal to (and serialises as) its value."""

    FACTUAL = "factual"
    COMPARISON = "comparison"
    TOPIC = "topic"


@dataclass(frozen=True)
class Paper:
    paper_id: str  # stable: derived from the normalised title
    title: str
    abstract: str
    url: str  # the best link: DOI, else arXiv, else the record's URL, else an arXiv title search
    author_names: tuple[str, ...] = ()  # in order, "Given Family" where the source splits names
    author_count: int | None = None
    published: str | None = None  # the date as the source gives it ("Oct 22, 2024", "Aug 13", "2023-05-17")
    arxiv_id: str | None = None  # bare, version kept when given ("2305.10314v2")
    origin: str = ""  # "file:line" the record was read from
    year: int | None = None
    venue: str | None = None  # journal, proceedings or conference
    doi: str | None = None  # bare ("10.48550/arXiv.2305.10314")
    keywords: tuple[str, ...] = ()
    record_url: str | None = None  # the URL the record itself gives, when it gives one

    @property
    def authors(self) -> str | None:
        """The names for display, joined by ", "."""
        return ", ".join(self.author_names) or None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Chunk:
    chunk_id: str  # "<paper_id>:<position>"
    paper_id: str
    position: int  # 0-based chunk number within the paper
    text: str  # the abstract piece (without the title)
    title: str
    url: str
    published: str | None = None


@dataclass(frozen=True)
class StoredChunk:
    """One chunk as the store holds it: its text, the paper fields written with it and, when asked, its vector."""

    chunk_id: str
    paper_id: str
    title: str
    url: str
    position: int
    text: str
    paper_hash: str = ""
    n_chunks: int = 0
    published: str | None = None
    author_count: int | None = None
    authors: tuple[str, ...] = ()
    abstract: str | None = None  # the whole abstract, stored on each paper's first chunk
    embedding: list[float] | None = None
    year: int | None = None
    venue: str | None = None
    doi: str | None = None
    arxiv_id: str | None = None
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchHit:
    """One paper found by retrieval, its best chunks merged."""

    paper_id: str
    title: str
    url: str
    score: float  # fused/ranked score used for ordering
    text: str  # the matched chunk text(s) of this paper, in position order
    similarity: float | None = None  # dense cosine similarity of the best chunk, when known
    published: str | None = None
    author_count: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Source:
    """A numbered source given to the model: [n] in the answer refers to it."""

    n: int
    paper_id: str
    title: str
    url: str
    score: float
    text: str  # what was put in the prompt for this source
    published: str | None = None
    author_count: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "paper_id": self.paper_id, "title": self.title, "url": self.url,
                "score": self.score, "text": self.text}


@dataclass(frozen=True)
class Citation:
    n: int
    paper_id: str
    title: str
    url: str
    supported: bool  # True when the cited source supports the sentence(s) that cite it
    # The sentences of the source's text (as the sources panel shows it) that hold the claims citing it, in the
    # source's order; empty when only its title or a too-short claim ("PPO [2].") was checked.
    evidence: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Timings:
    retrieve: float = 0.0
    first_token: float | None = None  # seconds from question to first generated token
    total: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    refused: bool
    citations: list[Citation]
    sources: list[Source]
    model: str
    timings: Timings = field(default_factory=Timings)
    # Not in to_dict(): extra facts for the UI and eval (invalid marker count, unsupported sentences, kind).
    invalid_markers: int = 0
    unsupported: list[str] = field(default_factory=list)
    kind: QuestionKind = QuestionKind.FACTUAL
    standalone_question: str | None = None  # the condensed question, for follow-ups
    filters: str = ""  # the filters the sources passed, as Filters.label() says them; "" for none
    collection: str = "default"

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "refused": self.refused,
            "citations": [c.to_dict() for c in self.citations],
            "sources": [s.to_dict() for s in self.sources],
            "model": self.model,
            "timings": self.timings.to_dict(),
            "collection": self.collection,
            "filters": self.filters or None,
        }


# The one refusal sentence: the prompts, the pipeline, the eval and the tests all use this constant.
REFUSAL = "The provided abstracts do not contain the answer to this question."
