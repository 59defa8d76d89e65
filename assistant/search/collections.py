"""The named collections of one store, each opened once, on first use, with its own retriever.

A request names its collection in `Options.collection`; the pipeline asks this for the retriever. After an upload
changed a collection, `forget` it: the next request opens it again and sees the new papers and BM25 index. Listing
and deleting are here too; ingesting is `ingest.index`'s.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from assistant.config import Settings
from assistant.search.keyword import remove_keyword_index
from assistant.search.retriever import Retriever
from assistant.search.store import CollectionInfo, PaperStore, StoreError, list_collections

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding


class Collections:
    def __init__(self, settings: Settings, embedder: BaseEmbedding, default: Retriever) -> None:
        self.settings = settings
        self.embedder = embedder
        self.default = default.store.collection_label
        self._open: dict[str, Retriever] = {self.default: default}  # collection name -> its retriever
        self._lock = threading.Lock()

    def retriever(self, name: str | None = None) -> Retriever:
        """The collection's retriever; a StoreError names the known collections when it does not exist."""
        name = name or self.default
        with self._lock:
            if name not in self._open:
                store = PaperStore(self.settings, collection=name)
                self._open[name] = Retriever(self.settings, store, self.embedder)
            return self._open[name]

    def forget(self, name: str) -> None:
        """Drop the open retriever of `name` (after an ingest changed it): the next request reopens it."""
        with self._lock:
            if name in self._open:
                store = PaperStore(self.settings, create=True, collection=name)
                self._open[name] = Retriever(self.settings, store, self.embedder)

    def names(self) -> list[str]:
        listed = [c.name for c in self.list()]
        return listed if self.default in listed else [self.default, *listed]

    def list(self) -> list[CollectionInfo]:
        return list_collections(self.settings)

    def delete(self, name: str) -> None:
        delete_collection(self.settings, name)
        with self._lock:
            self._open.pop(name, None)


def delete_collection(settings: Settings, name: str) -> None:
    """Delete a named collection and its BM25 index; a StoreError when there is no such collection."""
    if name not in {c.name for c in list_collections(settings)}:
        known = ", ".join(c.name for c in list_collections(settings)) or "none"
        raise StoreError(f"no collection {name!r} in {settings.store.url or settings.store.path} (collections: "
                         f"{known})")
    store = PaperStore(settings, collection=name)
    remove_keyword_index(store)
    store.delete()
