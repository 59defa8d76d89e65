"""The composition root: `build(settings)` makes the store, the embedder, the retriever, the backend pool, the
pipeline, the review tables, the queue in front of them and the model timings and warm-up, once, and every entry
point (CLI, UI, eval, bench, API) gets them from the `App` it returns.

Nothing else constructs these components; nothing here answers questions or serves pages.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.answer.gate import Gate
from assistant.answer.pipeline import Pipeline
from assistant.answer.prompts import Prompts
from assistant.answer.table import ReviewTables
from assistant.config import LLMSettings, Settings
from assistant.llms.registry import BackendPool, Registry
from assistant.llms.timing import ModelTimings, Warmup
from assistant.search.collections import Collections
from assistant.search.retriever import Retriever
from assistant.search.store import PaperStore

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from assistant.llms.base import Backend


TIMINGS_FILE = "timings.json"


@dataclass(frozen=True)
class App:
    settings: Settings
    store: PaperStore
    embedder: BaseEmbedding
    retriever: Retriever  # the default collection's (`store.collection`)
    backends: BackendPool
    pipeline: Pipeline
    collections: Collections  # every named collection's retriever, opened on first use
    gate: Gate  # the one queue of generations (ui.concurrency, ui.max_queue): page, API and MCP share it
    tables: ReviewTables
    timings: ModelTimings  # this machine's measured load and reading times (llm.timings_file)
    warmup: Warmup  # loads the configured model in the background once `start()`ed (the page does)

    @property
    def registry(self) -> Registry:
        return self.backends.registry

    def warm(self) -> threading.Thread:
        """Make the first question as quick as the next: load BM25 and run one retrieval through every check (the
        first search pays for the embedding model's and Chroma's first calls), then start loading the model in
        the background (`warmup`). `serve` calls this before the page takes questions."""
        question, options = self.pipeline.with_question_filters(
            "Which papers since 2023 study how language models learn from feedback?", self.pipeline.options())
        self.pipeline.declines(question, self.pipeline.retrieve(question, options), options=options)
        return self.warmup.start()

    def close(self) -> None:
        self.backends.close()


def open_store(settings: Settings, *, create: bool = False) -> PaperStore:
    """The store alone, for commands that need no model (stats)."""
    return PaperStore(settings, create=create)


def load_embedder(settings: Settings) -> BaseEmbedding:
    from assistant.search.embeddings import load_embedder as load

    return load(settings.embedding)


def build(settings: Settings, *, registry: Registry | None = None, backend: Backend | None = None,
          embedder: BaseEmbedding | None = None, create_store: bool = False) -> App:
    """Open the store (a missing or broken one stops here), load the embedding model, and wire the retriever and
    the pipeline. Backends are built when a request first names one (the configured one is `llm.backend`).

    `registry` replaces the built-in backends (tests register doubles there); `backend` is an already built
    backend to use as the default (scripts, tests); `embedder` an already loaded embedding model."""
    if registry is None:
        from assistant.llms.builtin import default_registry

        registry = default_registry()
    store = PaperStore(settings, create=create_store)
    embedder = embedder or load_embedder(settings)
    retriever = Retriever(settings, store, embedder)
    llm = LLMSettings.model_validate({**settings.llm.model_dump(), "backend": backend.name}) if backend \
        else settings.llm
    backends = BackendPool(registry, llm, {backend.name: backend} if backend else None)
    collections = Collections(settings, embedder, retriever)
    prompts = Prompts(settings.prompts_dir)
    gate = Gate(settings.ui.concurrency, settings.ui.max_queue)
    timings = ModelTimings(settings.llm.timings_file or settings.llm.cache_dir / TIMINGS_FILE)
    pipeline = Pipeline(settings, retriever, backends, prompts, collections, gate, timings)
    tables = ReviewTables(settings, store, embedder, backends, prompts)
    return App(settings, store, embedder, retriever, backends, pipeline, collections, gate, tables, timings,
               Warmup(backends, timings))
