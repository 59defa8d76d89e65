"""Hybrid retrieval on the real corpus and embedding model: acronyms, comparisons, topics, BM25 persistence."""

from __future__ import annotations

import dataclasses

import pytest

from assistant.answer.plan import plan
from assistant.config import Options
from assistant.ingest.index import ingest
from assistant.search.keyword import KeywordIndex, index_dir, names_in, query_names
from assistant.search.retriever import Retriever
from assistant.search.store import PaperStore
from tests.support import make_settings


@pytest.fixture(scope="module")
def retriever(built_store, embedder):
    settings = make_settings(built_store)
    return Retriever(settings, PaperStore(settings), embedder)


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("What does HFT do?", "HFT: Half Fine-Tuning for Large Language Models"),
        ("What is ReFT?", "ReFT: Reasoning with Reinforced Fine-Tuning"),
        ("Tell me about LoRAMoE", "LoRAMoE: Revolutionizing Mixture of Experts for Maintaining World Knowledge"),
        ("How does B-PROP pre-train?", "B-PROP"),
        ("What is DePT?", "DePT: Decomposed Prompt Tuning for Parameter-Efficient Fine-tuning"),
        ("How does CW2V work?", None),  # defined only in an abstract, "(CW2V)"
    ],
)
def test_method_names_find_their_paper_first(retriever, question, title):
    hit = retriever.search(question, 5)[0]
    if title is None:
        assert "CW2V" in hit.text or "CW2V" in hit.title
    else:
        assert hit.title.startswith(title)


def test_dense_alone_misses_what_hybrid_finds(retriever):
    q = "How does DePT compare to LoRA for parameter-efficient fine-tuning?"
    dense = [h.title for h in retriever.search(q, 5, hybrid=False)]
    hybrid = [h.title for h in retriever.search(q, 5)]
    assert not any(t.startswith("DePT") for t in dense)
    assert hybrid[0].startswith("DePT")


def test_similarity_is_dense_cosine_even_for_keyword_hits(retriever):
    for hit in retriever.search("What does HFT do?", 5):
        assert hit.similarity is not None and -1.0 <= hit.similarity <= 1.0


def test_two_way_comparison_gets_both_papers(retriever):
    r = plan(retriever, "How does LeTI differ from DePT?", Options.for_request(retriever.settings), 1)
    assert r.kind == "comparison" and r.items == ["LeTI", "DePT"]
    assert r.hits[0].title.startswith("LeTI") and r.hits[1].title.startswith("DePT")


def test_three_way_comparison_gets_all_three(retriever):
    r = plan(retriever, "Compare HFT, ReFT and LoRAMoE", Options.for_request(retriever.settings), 1)
    assert [h.title.split(":")[0] for h in r.hits[:3]] == ["HFT", "ReFT", "LoRAMoE"]


def test_topic_question_returns_several_distinct_papers(retriever):
    r = plan(retriever, "Which papers study catastrophic forgetting in language models?",
             Options.for_request(retriever.settings), 1)
    assert r.kind == "topic" and len(r.hits) >= 6
    assert len({h.paper_id for h in r.hits}) == len(r.hits)
    assert sum("orgetting" in h.title + h.text for h in r.hits) >= 4


def test_a_paper_never_fills_two_slots(retriever):
    for q in ["prompt tuning", "LeTI vs DePT", "Which papers are about code generation?"]:
        hits = plan(retriever, q, Options.for_request(retriever.settings), 1).hits
        assert len({h.paper_id for h in hits}) == len(hits)


def test_name_table():
    assert "loramoe" in names_in("LoRAMoE: Revolutionizing Mixture of Experts", "")
    assert "leti" in names_in("Some title", "learn from textual interactions (LeTI) that")
    assert "llms" not in names_in("T", "large language models (llms)")  # lower-case: not an introduced name
    assert {"bprop", "dept"} <= query_names("Compare B-PROP and DePT")


def test_bm25_persists_and_follows_incremental_ingest(store_copy, corpus_papers, embedder):
    settings = make_settings(store_copy)
    store = PaperStore(settings)
    before = store.revision()
    assert KeywordIndex.load(index_dir(store), before) is not None  # persisted by the ingest
    target = corpus_papers[10]
    changed = dataclasses.replace(target, abstract="We study zyxwvut quasicrystal tokenisation. " * 4)
    papers = [changed if p.paper_id == target.paper_id else p for p in corpus_papers]
    ingest(papers, settings, embedder, progress=False)
    store = PaperStore(settings)
    assert store.revision() == before + 1
    assert KeywordIndex.load(index_dir(store), before) is None  # the old one is stale
    hits = Retriever(settings, store, embedder).search("zyxwvut quasicrystal", 3)
    assert hits[0].paper_id == target.paper_id
    # an unchanged re-ingest leaves revision and index alone
    ingest(papers, settings, embedder, progress=False)
    assert PaperStore(settings).revision() == before + 1


def test_a_name_is_used_only_where_written_as_its_own_paper_writes_it(corpus_papers):
    """Every paper whose title names it in one word ("LeTI: ..."): ordinary text that spells the name across two
    words ("of a" for OFA) is no use of it, whichever use the lexicon happened to read last."""
    from assistant.search.keyword import Lexicon, normalise_name, title_name

    owners = [p for p in corpus_papers if (n := title_name(p.title)) and n.isalnum() and len(n) >= 3]
    for owner in owners[:40]:
        name = normalise_name(title_name(owner.title) or "")
        split = f"{name[:-1]} {name[-1]}"  # the same letters as two words
        texts = {owner.paper_id: (owner.title, owner.abstract),
                 "other": ("Another paper", f"We study the role {split} plays in training."),
                 "last": ("Yet another", f"A note about {split} again.")}
        lexicon = Lexicon.build(texts, {name: [owner.paper_id]})
        assert lexicon.name_uses[name][0] == 0, (name, lexicon.name_uses[name])
