"""The keyword side of hybrid search: BM25 over the same chunks as the vector store, plus a method-name table.

It also keeps the collection's `Lexicon` (titles, word frequencies, how widely each name is used), which question
understanding (`answer.resolve`) reads to tell a paper's name from an ordinary word.

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
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.search.store import PaperStore
from assistant.text import fold

if TYPE_CHECKING:
    from llama_index.core.schema import NodeWithScore

INFO = "index.json"
FORMAT = 6  # bumped when what is persisted changes (2: the lexicon, and names introduced by "we propose X";
#   3: accents folded, a name used only where written in as many words as its paper writes it; 4: the words an
#   acronym abbreviates; 5: a paper's own way of writing its name read from each use, not from the last one;
#   6: a title's name may end in "!" as well as ":")
MAX_NAME_PAPERS = 2  # a name shared by more papers than this is a topic word, not a method name
COMMON_USES = 3  # a name this many other papers use is the field's term ("BERT", "CLIP"), not a paper's
# "LoRAMoE: ...", "B-PROP: ...", "Skill-it! A ...". Not "?": a title that opens with a question ("Who's Harry
# Potter? ...") names no method.
_TITLE_NAME = re.compile(r"^([^\s:!]{2,30}(?:\s[^\s:!]{1,20}){0,2})[:!]\s")
_PAREN_NAME = re.compile(r"\(([A-Za-z][A-Za-z0-9\-]{1,20})\)")  # "... interactions (LeTI)"
# "we propose MAE-LM, which ...": a name the authors introduce without defining it in parentheses.
_INTRODUCED_NAME = re.compile(r"\b(?i:we|this\s+(?:paper|work))\s+(?:\w+\s+)?(?:propose|introduce|present|call|"
                              r"name|dub)[sd]?\s+(?:(?:a|an|the|our)\s+)?([A-Z][A-Za-z0-9\-]{1,20})\b")
_WORD = re.compile(r"[A-Za-z0-9]+")  # "B-PROP vs. GPT-3" -> B, PROP, vs, GPT, 3
NAME_WORDS = 4  # a name spans at most this many words ("Sequence-to-Action": 3)


def normalise_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold(name).lower())


def names_in(title: str, abstract: str) -> set[str]:
    """Method names a paper introduces: the title's prefix before a colon, acronyms defined in parentheses."""
    prefix = {normalise_name(m.group(1))} if (m := _TITLE_NAME.match(title)) else set()
    return {n for n in prefix if len(n) >= 3} | _acronyms(_PAREN_NAME, fold(f"{title} {abstract}"))


def introduced_names(abstract: str) -> set[str]:
    """Names written right after "we propose/introduce/present" ("we propose MAE-LM, which ..."), and the words
    an acronym in parentheses abbreviates ("Learn to Inference (LTI)"). Some are ordinary words ("we introduce
    NATURAL INSTRUCTIONS", "Large Language Models (LLMs)"): the index keeps only those the collection never
    writes as plain words (`KeywordIndex.build`)."""
    text = fold(abstract)
    return _acronyms(_INTRODUCED_NAME, text) | {normalise_name(e) for e in expansions(text)}


def expansions(text: str) -> list[str]:
    """What acronyms in parentheses abbreviate, as written: the last two to NAME_WORDS words before each
    "(ACRONYM)" whose initials spell it ("Learn to Inference (LTI)" -> "Learn to Inference")."""
    out = []
    for m in _PAREN_NAME.finditer(text):
        letters = re.sub(r"[^a-z]", "", m.group(1).lower())
        before = list(_WORD.finditer(text, max(0, m.start() - 200), m.start()))[-NAME_WORDS:]
        for n in range(2, len(before) + 1):
            if "".join(w.group()[0].lower() for w in before[-n:]) == letters:
                out.append(text[before[-n].start():before[-1].end()])
                break
    return out


def _acronyms(pattern: re.Pattern[str], text: str) -> set[str]:
    words = [m.group(1) for m in pattern.finditer(text)]
    names = {normalise_name(w) for w in words if sum(c.isupper() for c in w) >= 2 or any(c.isdigit() for c in w)}
    return {n for n in names if len(n) >= 3}


def title_name(title: str) -> str | None:
    """The name a title gives its paper before a colon or "!", as written ("B-PROP"), if it has one."""
    m = _TITLE_NAME.match(title)
    return m.group(1) if m else None


@dataclass(frozen=True)
class Lexicon:
    """What the collection says about its own words, for telling a paper's name from an ordinary word."""

    titles: dict[str, str] = field(default_factory=dict)  # paper id -> title
    words: dict[str, int] = field(default_factory=dict)  # lower-case word -> papers whose title/abstract use it
    # name -> [papers other than its owners that use it, 1 if it is also written as plain lower-case words]
    name_uses: dict[str, list[int]] = field(default_factory=dict)
    forms: dict[str, str] = field(default_factory=dict)  # name -> as its paper writes it ("Tele-FLM")

    @classmethod
    def build(cls, texts: dict[str, tuple[str, str]], names: dict[str, list[str]]) -> Lexicon:
        """From paper id -> (title, abstract text) and the name table."""
        words: Counter[str] = Counter()
        seen: list[tuple[str, int, str, bool, str]] = []  # (name, words it spans, paper id, plain, as written)
        for pid, (title, text) in texts.items():
            full = fold(f"{title} {text}")
            spans = [(m.start(), m.end()) for m in _WORD.finditer(full)]
            written = [full[a:b] for a, b in spans]
            lower = [w.lower() for w in written]
            words.update(set(lower))
            for n in range(1, NAME_WORDS + 1):
                for i in range(len(lower) - n + 1):
                    if (key := "".join(lower[i:i + n])) in names:
                        is_plain = all(not any(c.isupper() for c in w) for w in written[i:i + n])
                        seen.append((key, n, pid, is_plain, full[spans[i][0]:spans[i + n - 1][1]]))
        # A name is used where it is written in as many words as its own papers write it: "of a" is no use of
        # "OFA", "ERNIE 2.0" (three words) is one of "ERNIE 2.0".
        own = defaultdict(set)
        for key, n, pid, plain_use, _ in seen:
            if pid in names[key] and not plain_use:
                own[key].add(n)
        users: dict[str, set[str]] = defaultdict(set)
        plain: set[str] = set()
        forms: dict[str, str] = {}
        for key, n, pid, is_plain, text in seen:
            if own[key] and n not in own[key]:
                continue
            users[key].add(pid)
            if is_plain:
                plain.add(key)
            elif pid in names[key] and key not in forms:
                forms[key] = text
        uses = {n: [len(users[n] - set(owners)), int(n in plain)] for n, owners in names.items()}
        return cls({pid: t for pid, (t, _) in texts.items()}, dict(words), uses, forms)


def query_names(query: str) -> set[str]:
    tokens = re.findall(r"[A-Za-z0-9][A-Za-z0-9\-\.]*[A-Za-z0-9]", fold(query))
    out = {normalise_name(t) for t in tokens}
    out |= {normalise_name(f"{a} {b}") for a, b in pairwise(tokens)}
    return {n for n in out if len(n) >= 3}


class KeywordIndex:
    def __init__(self, bm25: Any, names: dict[str, list[str]], lexicon: Lexicon | None = None) -> None:
        self._bm25 = bm25  # llama-index BM25Retriever: its bm25s index, corpus and tokenizer settings
        self.names = names  # normalised method name -> paper ids that introduce it
        self.lexicon = lexicon or Lexicon()
        self._local = threading.local()  # a stemmer per thread: PyStemmer objects are not thread-safe

    def _stemmer(self) -> Any:
        if self._bm25.skip_stemming:
            return None
        if not hasattr(self._local, "stemmer"):
            import Stemmer

            self._local.stemmer = Stemmer.Stemmer("english")
        return self._local.stemmer

    def search(self, query: str, top: int, allowed: frozenset[str] | None = None) -> list[NodeWithScore]:
        """The `top` best chunks for `query` (fewer when the index is smaller), best first; with `allowed`, only
        chunks of those papers are scored (a mask inside bm25s, before the top-k). The retriever's own `retrieve`
        reads its top-k from a shared attribute; this passes it per call instead."""
        if self._bm25 is None or (k := min(top, self._size())) == 0 or (allowed is not None and not allowed):
            return []
        import bm25s
        from llama_index.core.schema import NodeWithScore
        from llama_index.core.vector_stores.utils import metadata_dict_to_node

        tokens = bm25s.tokenize(query, stemmer=self._stemmer(), token_pattern=self._bm25.token_pattern,
                                show_progress=False)
        corpus = self._bm25.corpus
        mask = None if allowed is None else self._mask(allowed)
        indexes, scores = self._bm25.bm25.retrieve(tokens, k=k, show_progress=False, weight_mask=mask)
        hits = [(i if isinstance(i, dict) else corpus[int(i)], float(score))
                for i, score in zip(indexes[0], scores[0], strict=True)]
        return [NodeWithScore(node=metadata_dict_to_node(doc), score=score) for doc, score in hits
                if allowed is None or (score > 0 and str(doc.get("paper_id")) in allowed)]

    def _mask(self, allowed: frozenset[str]) -> Any:
        """1.0 for each indexed chunk of an allowed paper, else 0.0 (cached: a filter is asked for many times)."""
        import numpy as np

        masks = self.__dict__.setdefault("_masks", {})
        if allowed not in masks:
            if len(masks) > 32:
                masks.clear()
            masks[allowed] = np.array([1.0 if str(doc.get("paper_id")) in allowed else 0.0
                                       for doc in self._bm25.corpus], dtype=np.float32)
        return masks[allowed]

    def _size(self) -> int:
        return int(self._bm25.bm25.scores["num_docs"]) if self._bm25 is not None else 0

    def names_a_paper(self, name: str) -> bool:
        """Whether some paper of the collection goes by `name`: it introduces it, or its title holds it as words
        ("Yi" in "Yi: Open Foundation Models by 01.AI")."""
        if self.introduces(name):
            return True
        wanted = " ".join(w.lower() for w in _WORD.findall(fold(name)))
        return bool(wanted) and any(f" {wanted} " in f" {' '.join(_WORD.findall(fold(t))).lower()} "
                                    for t in self.lexicon.titles.values())

    def introduces(self, name: str) -> bool:
        """Whether some paper of the collection introduces `name` (its title's name, an acronym it defines): it
        is the paper of that name, not one that only uses it."""
        return normalise_name(name) in self.names

    def name_matches(self, query: str, allowed: frozenset[str] | None = None) -> list[str]:
        return [pid for name in query_names(query) for pid in self.names.get(name, [])
                if allowed is None or pid in allowed]

    # -- building and persisting ---------------------------------------------------------------------

    @classmethod
    def build(cls, store: PaperStore) -> KeywordIndex:
        from llama_index.core.schema import TextNode
        from llama_index.retrievers.bm25 import BM25Retriever

        nodes = []
        by_name: dict[str, set[str]] = defaultdict(set)
        introduced: dict[str, set[str]] = defaultdict(set)
        texts: dict[str, tuple[str, str]] = {}  # paper id -> (title, its chunks' text)
        for chunk in store.iter_chunks():
            title, text = texts.get(chunk.paper_id, (chunk.title, ""))
            texts[chunk.paper_id] = (title, f"{text} {chunk.text}")
            keep = {"paper_id": chunk.paper_id, "title": chunk.title, "url": chunk.url, "position": chunk.position}
            keep |= {k: v for k, v in (("published", chunk.published), ("author_count", chunk.author_count))
                     if v is not None}
            nodes.append(TextNode(id_=chunk.chunk_id, text=f"{chunk.title}\n{chunk.text}", metadata=keep,
                                  excluded_embed_metadata_keys=list(keep), excluded_llm_metadata_keys=list(keep)))
            for name in names_in(chunk.title, chunk.text):
                by_name[name].add(chunk.paper_id)
            for name in introduced_names(chunk.text):
                introduced[name].add(chunk.paper_id)
        if not nodes:
            return cls(None, {})
        import Stemmer

        bm25 = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=10, stemmer=Stemmer.Stemmer("english"),
                                           language="english")
        candidates = {n: sorted(p) for n, p in (introduced | by_name).items() if len(p) <= MAX_NAME_PAPERS}
        lexicon = Lexicon.build(texts, candidates)
        names = {n: p for n, p in candidates.items()
                 if n in by_name or (not lexicon.name_uses[n][1] and lexicon.name_uses[n][0] < COMMON_USES)}
        return cls(bm25, names, lexicon)

    def save(self, directory: Path, revision: int) -> None:
        """Write to a temp dir beside `directory`, then swap it in: readers never see half an index."""
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
        try:
            if self._bm25 is not None:
                self._bm25.persist(str(tmp / "bm25"), show_progress=False)
            lexicon = {"titles": self.lexicon.titles, "words": self.lexicon.words,
                       "name_uses": self.lexicon.name_uses, "forms": self.lexicon.forms}
            (tmp / INFO).write_text(json.dumps({"revision": revision, "format": FORMAT, "names": self.names,
                                                  "lexicon": lexicon}))
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
        if info.get("revision") != revision or info.get("format") != FORMAT:
            return None
        lexicon = Lexicon(**info["lexicon"])
        if not (directory / "bm25").exists():
            return cls(None, info["names"], lexicon)
        from llama_index.retrievers.bm25 import BM25Retriever

        try:
            bm25 = BM25Retriever.from_persist_dir(str(directory / "bm25"), show_progress=False)
            return cls(bm25, info["names"], lexicon)
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


def remove_keyword_index(store: PaperStore) -> None:
    """When a collection is deleted: its BM25 index goes with it."""
    shutil.rmtree(index_dir(store), ignore_errors=True)
