"""What the HTTP routes and the MCP tools do, once: list the models, search, answer (through the app's queue),
read a paper. The JSON shapes are the CLI's (`search --json`, `ask --json`), built here for both.

Generations wait in `app.gate` (the pipeline takes the slot before the model is asked and gives it back however the
request ends); retrieval and the preview do not wait.
"""

from __future__ import annotations

from typing import Any

from assistant.answer.pipeline import Run
from assistant.app import App
from assistant.config import Options
from assistant.llms.base import Message
from assistant.types import Answer, SearchHit, StoredChunk


class UnknownModel(LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"model {name!r} does not exist; choose one of: {', '.join(known)}")
        self.name = name
        self.known = known


def search_result(query: str, hits: list[SearchHit], papers: dict[str, StoredChunk], collection: str,
                  filters: str | None) -> dict[str, Any]:
    """The shape of `search --json`: each hit with its paper's authors, year and venue (from `papers`, the stored
    first chunks), the collection searched and the filters applied (as `Filters.label()` says them, or None)."""
    results = []
    for i, h in enumerate(hits, 1):
        p = papers.get(h.paper_id)
        results.append({"rank": i, "paper_id": h.paper_id, "title": h.title, "url": h.url, "score": h.score,
                        "text": h.text, "year": p.year if p else None, "authors": list(p.authors) if p else [],
                        "venue": p.venue if p else None})
    return {"query": query, "collection": collection, "filters": filters, "results": results}


def paper_record(chunk: StoredChunk) -> dict[str, Any]:
    """One paper as the store holds it, its whole abstract included."""
    return {"paper_id": chunk.paper_id, "title": chunk.title, "url": chunk.url, "authors": list(chunk.authors),
            "author_count": chunk.author_count, "published": chunk.published, "year": chunk.year,
            "venue": chunk.venue, "doi": chunk.doi, "arxiv_id": chunk.arxiv_id, "keywords": list(chunk.keywords),
            "abstract": chunk.abstract or chunk.text}


class Service:
    def __init__(self, app: App) -> None:
        self.app = app

    @property
    def default_model(self) -> str:
        return self.app.backends.default

    def listed_models(self) -> list[str]:
        """The backends offered to clients: the page's list (registered and not hidden, and the configured one),
        the configured one first."""
        shown = set(self.app.registry.names(include_hidden=False))
        return [self.default_model, *(n for n in self.app.backends.names() if n in shown and n != self.default_model)]

    def check_model(self, options: Options) -> None:
        """Any backend the CLI's --model accepts may be named; an unknown one is an error listing the others."""
        if options.backend not in self.app.backends.names():
            raise UnknownModel(options.backend, self.listed_models())

    def search(self, query: str, options: Options) -> dict[str, Any]:
        retriever = self.app.pipeline.retriever_for(options)
        hits = retriever.search(query, options.k, hybrid=options.hybrid, rerank=options.rerank,
                                filters=options.filters)
        papers = retriever.store.first_chunks([h.paper_id for h in hits])
        label = options.filters.label() if options.filters.active else None
        return search_result(query, hits, papers, retriever.store.collection_label, label)

    def ask(self, question: str, history: list[Message], options: Options) -> Answer:
        """The checked answer; the pipeline waits in the app's gate for the model."""
        self.check_model(options)
        return self.app.pipeline.ask(question, history, options)

    def stream(self, question: str, history: list[Message], options: Options) -> Run:
        """The pipeline's events from a worker thread, with a `Tick` every half second of silence, so that a
        client hanging up is noticed at once and cancels the generation (closing the run frees its queue slot)."""
        self.check_model(options)
        return self.app.pipeline.run(question, history, options, tick=0.5)

    def related(self, paper_id: str, options: Options) -> dict[str, Any] | None:
        """The `options.k` papers most like `paper_id` (stored vectors, no model), with the request's filters and
        collection; None when the collection does not hold the paper."""
        from assistant.search.related import related

        retriever = self.app.pipeline.retriever_for(options)
        paper = retriever.store.paper(paper_id)
        if paper is None:
            return None
        hits = related(retriever, paper_id, options)
        return {"paper_id": paper_id, "title": paper.title, "related": [
            {"rank": i, "paper_id": h.paper_id, "title": h.title, "url": h.url, "similarity": h.similarity}
            for i, h in enumerate(hits, 1)]}

    def paper(self, paper_id: str) -> dict[str, Any] | None:
        chunk = self.app.store.paper(paper_id)
        return paper_record(chunk) if chunk else None

    def papers(self) -> list[dict[str, str]]:
        """Every paper's id and title, sorted by title."""
        seen: dict[str, str] = {}
        for chunk in self.app.store.iter_chunks():
            seen.setdefault(chunk.paper_id, chunk.title)
        return [{"paper_id": pid, "title": title} for pid, title in sorted(seen.items(), key=lambda kv: kv[1])]
