"""The one place that talks to Chroma: opening the client (local or server), naming and opening the collection,
and reading/deleting chunks by paper.

It returns typed records (`StoredChunk`), never Chroma's dicts. It knows nothing about chunking or embedding
(`ingest.index` decides what to write). Chroma's default embedding function is never attached: every write and
query carries its own vectors.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from assistant.config import COLLECTION_PATTERN, DEFAULT_COLLECTION, Settings
from assistant.search.embeddings import model_slug
from assistant.types import Paper, StoredChunk

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from llama_index.vector_stores.chroma import ChromaVectorStore


# What each chunk's metadata holds, written with it as "format" (absent: 1). 2: authors and keywords joined by
# "; " with lowercase copies for matching (authors_lc, keywords_lc), year as an int, venue, doi, arxiv_id.
CHUNK_FORMAT = 2
LIST_SEPARATOR = "; "  # Chroma metadata is scalar: lists are stored joined (a ";" in a value becomes ",")


class StoreError(RuntimeError):
    """The store is missing, unreadable, locked, corrupted or unreachable. The message names the path or URL."""


def collection_name(settings: Settings, collection: str | None = None) -> str:
    """The Chroma name of a named collection: <prefix>-<embedding model> for the default one (the name stores
    had before there were collections), <prefix>-<name>-<embedding model> for the others."""
    collection = collection or settings.store.collection
    middle = "" if collection == DEFAULT_COLLECTION else f"{collection}-"
    return f"{settings.store.collection_prefix}-{middle}{model_slug(settings.embedding.model)}"[:512]


@dataclass(frozen=True)
class CollectionInfo:
    name: str  # the user's name for it (`--collection`)
    chroma_name: str
    chunks: int


def list_collections(settings: Settings) -> list[CollectionInfo]:
    """The named collections of the store that were embedded with the configured model, by name."""
    client = open_client(settings, create=False)
    suffix = f"-{model_slug(settings.embedding.model)}"[:512]
    prefix = f"{settings.store.collection_prefix}-"
    out = []
    for entry in client.list_collections():
        col = client.get_collection(entry if isinstance(entry, str) else entry.name, embedding_function=None)
        meta = col.metadata or {}
        if meta.get("embedding_model") != settings.embedding.model or not col.name.startswith(prefix):
            continue
        name = str(meta.get("collection") or (DEFAULT_COLLECTION if col.name == collection_name(settings,
                   DEFAULT_COLLECTION) else col.name.removeprefix(prefix).removesuffix(suffix)))
        out.append(CollectionInfo(name, col.name, col.count()))
    return sorted(out, key=lambda c: c.name)


@dataclass(frozen=True)
class PaperState:
    paper_hash: str
    n_chunks: int  # chunks the paper should have
    present: int  # chunks found in the store


def _chroma_settings() -> Any:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def _corrupted(path: Path, detail: str) -> StoreError:
    """One line: sqlite's integrity report can run to hundreds of lines. Ingest cannot open it either, so the
    advice is to move the directory away first (--rebuild alone would hit the same error)."""
    problems = [ln.strip() for ln in detail.splitlines() if ln.strip() and not ln.startswith("***")] or [detail]
    more = f" and {len(problems) - 1} more problem(s)" if len(problems) > 1 else ""
    return StoreError(f"store {path} is corrupted ({problems[0]}{more}): move or delete the directory, then run "
                      f"`paper-assistant ingest --store {path}` to build it again")


def _check_local_path(path: Path, create: bool) -> None:
    if not path.exists():
        if not create:
            raise StoreError(f"no index at {path}: run `paper-assistant ingest --store {path}` first")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create the store directory {path}: {e.strerror}") from e
    if not path.is_dir():
        raise StoreError(f"store path {path} is not a directory")
    db = path / "chroma.sqlite3"
    # Chroma writes to its database even to read it, so a read-only store cannot be opened at all.
    for target, what in ((path, "directory"), (db, "database")):
        if target.exists() and not os.access(target, os.W_OK):
            raise StoreError(f"store {what} {target} is read-only (Chroma needs write access even to search): fix "
                             "its permissions or copy the store to a writable --store DIR")
    if db.exists():
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2) as con:
                con.execute("PRAGMA schema_version").fetchone()
                ok = con.execute("PRAGMA quick_check").fetchone()
        except sqlite3.DatabaseError as e:
            if "locked" in str(e):
                raise StoreError(f"store {path} is locked by another process; stop it or use another --store") from e
            raise _corrupted(path, str(e)) from e
        if ok and ok[0] != "ok":
            raise _corrupted(path, str(ok[0]))
    elif not create:
        raise StoreError(f"no index at {path}: run `paper-assistant ingest --store {path}` first")


def open_client(settings: Settings, *, create: bool) -> ClientAPI:
    import chromadb

    if settings.store.url:
        url = urlparse(settings.store.url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise StoreError(f"store.url = {settings.store.url!r}: expected http://host:port")
        try:
            client = chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=_chroma_settings(),
            )
            client.heartbeat()
        except Exception as e:  # chromadb raises bare exceptions for connection problems
            raise StoreError(f"store.url = {settings.store.url}: Chroma server unreachable ({e})") from e
        return client
    path = settings.store.path
    _check_local_path(path, create)
    try:
        return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
    except Exception as e:
        raise StoreError(f"cannot open the Chroma store at {path}: {e}") from e


class PaperStore:
    """A Chroma collection of chunks, addressed by paper."""

    def __init__(self, settings: Settings, *, create: bool = False, collection: str | None = None) -> None:
        self.settings = settings
        self.location = settings.store.url or str(settings.store.path)
        self.client = open_client(settings, create=create)
        self.collection_label = collection or settings.store.collection  # the user's name for it
        if not re.match(COLLECTION_PATTERN, self.collection_label):
            raise StoreError(f"collection {self.collection_label!r}: use lowercase letters, digits, - and _ "
                             "(at most 40 characters)")
        self.name = collection_name(settings, self.collection_label)
        self._create = create
        self.collection = self._open_collection()

    def _meta(self, **extra: object) -> dict[str, object]:
        return {"embedding_model": self.settings.embedding.model, "collection": self.collection_label, **extra}

    def _open_collection(self) -> Collection:
        try:
            if self._create:
                return self.client.get_or_create_collection(self.name, metadata=self._meta(**{"hnsw:space": "cosine"}),
                                                            embedding_function=None)
            return self.client.get_collection(self.name, embedding_function=None)
        except Exception as e:
            if not self._create:
                flag = "" if self.collection_label == DEFAULT_COLLECTION else f" --collection {self.collection_label}"
                known = ", ".join(c.name for c in list_collections(self.settings)) or "none"
                raise StoreError(
                    f"store {self.location} has no collection {self.collection_label!r} for embedding model "
                    f"{self.settings.embedding.model!r} (collections: {known}): run `paper-assistant ingest"
                    f"{flag}` first"
                ) from e
            raise StoreError(f"cannot open collection {self.name!r} in {self.location}: {e}") from e

    def drop(self) -> None:
        """Delete the collection and start an empty one (for --rebuild). A delete that fails stops here: going on
        would quietly turn a rebuild into an incremental ingest."""
        if self.name in {c if isinstance(c, str) else c.name for c in self.client.list_collections()}:
            try:
                self.client.delete_collection(self.name)
            except Exception as e:  # chromadb raises bare exceptions
                raise StoreError(f"store {self.location}: cannot delete collection {self.name!r} for --rebuild "
                                 f"({type(e).__name__}: {e}); nothing was changed") from e
        self._create = True
        self.collection = self._open_collection()

    def delete(self) -> None:
        """Delete this collection from the store (its BM25 index is `search.keyword`'s to remove)."""
        try:
            self.client.delete_collection(self.name)
        except Exception as e:  # chromadb raises bare exceptions
            raise StoreError(f"store {self.location}: cannot delete collection {self.collection_label!r} ({e})") from e

    def vector_store(self) -> ChromaVectorStore:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self.collection)

    def count_chunks(self) -> int:
        return self.collection.count()

    def iter_chunks(self, batch: int = 5000) -> Iterable[StoredChunk]:
        """Every chunk (without vectors), in pages so large stores stay bounded in memory."""
        total = self.collection.count()
        for offset in range(0, total, batch):
            got = self.collection.get(include=["metadatas", "documents"], limit=batch, offset=offset)
            for chunk_id, meta, doc in zip(got["ids"], got["metadatas"], got["documents"], strict=True):
                yield _record(chunk_id, meta, doc)

    def paper_ids(self) -> set[str]:
        return {c.paper_id for c in self.iter_chunks()}

    def titles(self) -> set[str]:
        return {c.title for c in self.iter_chunks()}

    def paper_states(self) -> dict[str, PaperState]:
        states: dict[str, PaperState] = {}
        for chunk in self.iter_chunks():
            pid = chunk.paper_id
            prev = states.get(pid)
            h, n = chunk.paper_hash, chunk.n_chunks
            if prev is None:
                states[pid] = PaperState(h, n, 1)
            else:
                # Chunks of two versions of a paper side by side mark it inconsistent: hash "" forces a rewrite.
                same = prev.paper_hash == h and prev.n_chunks == n
                states[pid] = PaperState(h if same else "", n, prev.present + 1)
        return states

    def revision(self) -> int:
        """Bumped by every ingest that changes the store; derived indexes (BM25) record the one they match."""
        return int((self.collection.metadata or {}).get("revision", 0))

    def bump_revision(self) -> int:
        new = self.revision() + 1
        # modify() replaces the whole metadata; the distance space is fixed at creation and is kept.
        self.collection.modify(metadata=self._meta(revision=new))
        return new

    def chunks_of(self, paper_ids: list[str]) -> list[StoredChunk]:
        """Every chunk of the given papers, with its vector."""
        if not paper_ids:
            return []
        got = self.collection.get(where={"paper_id": {"$in": paper_ids}},
                                  include=["metadatas", "documents", "embeddings"])
        return [_record(i, m, d, [float(x) for x in e])
                for i, m, d, e in zip(got["ids"], got["metadatas"], got["documents"], got["embeddings"], strict=True)]

    def paper(self, paper_id: str) -> StoredChunk | None:
        """One paper's first chunk, which holds the whole abstract (for the paper browser)."""
        return self.first_chunks([paper_id]).get(paper_id)

    def first_chunks(self, paper_ids: list[str]) -> dict[str, StoredChunk]:
        """paper id -> its first chunk (which holds the whole abstract), for the given papers, in one query."""
        if not paper_ids:
            return {}
        got = self.collection.get(where={"$and": [{"paper_id": {"$in": list(paper_ids)}}, {"position": 0}]},
                                  include=["metadatas", "documents"])
        records = (_record(i, m, d) for i, m, d in zip(got["ids"], got["metadatas"], got["documents"], strict=True))
        return {r.paper_id: r for r in records}

    def delete_papers(self, paper_ids: Iterable[str]) -> None:
        ids = list(paper_ids)
        for i in range(0, len(ids), 500):
            self.collection.delete(where={"paper_id": {"$in": ids[i : i + 500]}})


def paper_metadata(paper: Paper) -> dict[str, str | int]:
    """The paper's fields as scalar Chroma metadata (CHUNK_FORMAT 2); absent fields are left out."""
    meta: dict[str, str | int] = {}
    for key in ("published", "venue", "doi", "arxiv_id"):
        if value := getattr(paper, key):
            meta[key] = value
    for key, value in (("author_count", paper.author_count), ("year", paper.year)):
        if value is not None:
            meta[key] = value
    for key, values in (("authors", paper.author_names), ("keywords", paper.keywords)):
        if values:
            joined = LIST_SEPARATOR.join(v.replace(";", ",") for v in values)
            meta[key], meta[f"{key}_lc"] = joined, joined.casefold()
    return meta


def _record(chunk_id: str, meta: Any, doc: str | None, embedding: list[float] | None = None) -> StoredChunk:
    meta = dict(meta or {})

    def text(key: str) -> str | None:
        value = meta.get(key)
        return str(value) if value not in (None, "") else None

    def number(key: str) -> int | None:
        return int(meta[key]) if text(key) else None

    def listed(key: str) -> tuple[str, ...]:
        # Format 1 stored authors as one display string joined by ", "; it had no keywords.
        sep = LIST_SEPARATOR if int(meta.get("format", 1)) >= 2 else ", "
        return tuple(v.strip() for v in (text(key) or "").split(sep.strip()) if v.strip())

    return StoredChunk(
        chunk_id=chunk_id, paper_id=str(meta["paper_id"]), title=str(meta.get("title", "")),
        url=str(meta.get("url", "")), position=int(meta.get("position", 0)), text=doc or "",
        paper_hash=str(meta.get("paper_hash", "")), n_chunks=int(meta.get("n_chunks", 0)),
        published=text("published"), author_count=number("author_count"),
        authors=listed("authors"), abstract=text("abstract"), embedding=embedding,
        year=number("year"), venue=text("venue"), doi=text("doi"), arxiv_id=text("arxiv_id"),
        keywords=listed("keywords"),
    )
