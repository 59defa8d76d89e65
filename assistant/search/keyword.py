"""The keyword side of hybrid search: BM25 over the same chunks as the vector store, plus a method-name table.

Persisted next to the Chroma store (`<store.path>/bm25/<collection>/`), tagged with the store revision it was
built from, and rebuilt when an ingest changed the store. Built and persisted with llama-index's BM25Retriever
(bm25s); searched with the top-k passed per call, so concurrent searches share nothing mutable.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import tempfile
import threading
from collections import defaultdict
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.search.store import PaperStore

if TYPE_CHECKING:
    from llama_index.core.schema import NodeWithScore

INFO = "index.json"
MAX_NAME_PAPERS = 2  # a name shared by more papers than this is a topic word, not a method name
_TITLE_NAME = re.compile(r"^([^\s:]{2,30}(?:\s[^\s:]{1,20}){0,2}):\s")  # "LoRAMoE: ...", "B-PROP: ..."
_PAREN_NAME = re.compile(r"\(([A-Za-z][A-Za-z0-9\-]{1,20})\)")  # "... interactions (LeTI)"


def normalise_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def names_in(title: str, abstract: str) -> set[str]:
    """Method names a paper introduces: the title's prefix before a colon, acronyms defined in parentheses."""
    names = set()
    if m := _TITLE_NAME.match(title):
        names.add(m.group(1))
    for m in _PAREN_NAME.finditer(f"{title} {abstract}"):
        word = m.group(1)
        if sum(c.isupper() for c in word) >= 2 or any(c.isdigit() for c in word):
            names.add(word)
    return {normalise_name(n) for n in names if len(normalise_name(n)) >= 3}


def query_names(query: str) -> set[str]:
    tokens = re.findall(r"[A-Za-z0-9][A-Za-z0-9\-\.]*[A-Za-z0-9]", query)
    out = {normalise_name(t) for t in tokens}
    out |= {normalise_name(f"{a} {b}") for a, b in pairwise(tokens)}
    return {n for n in out if len(n) >= 3}


class KeywordIndex:
    def __init__(self, bm25: Any, names: dict[str, list[str]]) -> None:
        self._bm25 = bm25  # llama-index BM25Retriever: its bm25s index, corpus and tokenizer settings
        self.names = names  # normalised method name -> paper ids that introduce it
        self._local = threading.local()  # a stemmer per thread: PyStemmer objects are not thread-safe

    def _stemmer(self) -> Any:
        if self._bm25.skip_stemming:
            return None
        if not hasattr(self._local, "stemmer"):
            import Stemmer

            self._local.stemmer = Stemmer.Stemmer("english")
        return self._local.stemmer

    def search(self, query: str, top: int) -> list[NodeWithScore]:
        """The `top` best chunks for `query` (fewer when the index is smaller), best first. The retriever's own
        `retrieve` reads its top-k from a shared attribute; this passes it per call instead."""
        if self._bm25 is None or (k := min(top, self._size())) == 0:
            return []
        import bm25s
        from llama_index.core.schema import NodeWithScore
        from llama_index.core.vector_stores.utils import metadata_dict_to_node

        tokens = bm25s.tokenize(query, stemmer=self._stemmer(), token_pattern=self._bm25.token_pattern,
                                show_progress=False)
        indexes, scores = self._bm25.bm25.retrieve(tokens, k=k, show_progress=False)
        corpus = self._bm25.corpus
        return [NodeWithScore(node=metadata_dict_to_node(i if isinstance(i, dict) else corpus[int(i)]),
                              score=float(score)) for i, score in zip(indexes[0], scores[0], strict=True)]

    def _size(self) -> int:
        return int(self._bm25.bm25.scores["num_docs"]) if self._bm25 is not None else 0

    def name_matches(self, query: str) -> list[str]:
        return [pid for name in query_names(query) for pid in self.names.get(name, [])]

    # -- building and persisting ---------------------------------------------------------------------

    @classmethod
    def build(cls, store: PaperStore) -> KeywordIndex:
        from llama_index.core.schema import TextNode
        from llama_index.retrievers.bm25 import BM25Retriever

        nodes = []
        by_name: dict[str, set[str]] = defaultdict(set)
        for chunk in store.iter_chunks():
            keep = {"paper_id": chunk.paper_id, "title": chunk.title, "url": chunk.url, "position": chunk.position}
            keep |= {k: v for k, v in (("published", chunk.published), ("author_count", chunk.author_count))
                     if v is not None}
            nodes.append(TextNode(id_=chunk.chunk_id, text=f"{chunk.title}\n{chunk.text}", metadata=keep,
                                  excluded_embed_metadata_keys=list(keep), excluded_llm_metadata_keys=list(keep)))
            for name in names_in(chunk.title, chunk.text):
                by_name[name].add(chunk.paper_id)
        if not nodes:
            return cls(None, {})
        import Stemmer

        bm25 = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=10, stemmer=Stemmer.Stemmer("english"),
                                           language="english")
        names = {n: sorted(p) for n, p in by_name.items() if len(p) <= MAX_NAME_PAPERS}
        return cls(bm25, names)

    def save(self, directory: Path, revision: int) -> None:
        """Write to a temp dir beside `directory`, then swap it in: readers never see half an index."""
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
        try:
            if self._bm25 is not None:
                self._bm25.persist(str(tmp / "bm25"), show_progress=False)
            (tmp / INFO).write_text(json.dumps({"revision": revision, "names": self.names}))
            old = directory.with_name(directory.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            if directory.exists():
                directory.rename(old)
            tmp.rename(directory)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path, revision: int) -> KeywordIndex | None:
        """The saved index if it was built from `revision`, else None."""
        try:
            info = json.loads((directory / INFO).read_text())
        except (OSError, ValueError):
            return None
        if info.get("revision") != revision:
            return None
        if not (directory / "bm25").exists():
            return cls(None, info["names"])
        from llama_index.retrievers.bm25 import BM25Retriever

        try:
            bm25 = BM25Retriever.from_persist_dir(str(directory / "bm25"), show_progress=False)
            return cls(bm25, info["names"])
        except (OSError, ValueError, KeyError):
            return None


def index_dir(store: PaperStore) -> Path:
    return store.settings.store.path / "bm25" / store.name


def open_keyword_index(store: PaperStore) -> KeywordIndex:
    """Load the persisted index if current, else rebuild it (and save it when the directory is writable)."""
    revision = store.revision()
    directory = index_dir(store)
    index = KeywordIndex.load(directory, revision)
    if index is None:
        index = KeywordIndex.build(store)
        with contextlib.suppress(OSError):  # a read-only store still serves from the in-memory index
            index.save(directory, revision)
    return index


def refresh_keyword_index(store: PaperStore) -> None:
    """After an ingest: rebuild and persist for the store's current revision."""
    KeywordIndex.build(store).save(index_dir(store), store.revision())
