"""The generated eval set: eval/generated.jsonl is exactly what eval/generate.py writes, its gold papers are in
the corpus, and the script's own name rules (title prefix, defined acronym, ambiguity) hold on made-up papers."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections import Counter
from types import ModuleType

import pytest

from assistant.evals.metrics import load_questions
from assistant.types import Paper
from tests.support import CORPUS, ROOT

GENERATED = ROOT / "eval" / "generated.jsonl"


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    """eval/generate.py is a script, not a package module: loaded from its path."""
    spec = importlib.util.spec_from_file_location("eval_generate", ROOT / "eval" / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def questions(gen: ModuleType) -> list[dict]:
    return gen.generate()


def paper(title: str, abstract: str = "An abstract.") -> Paper:
    return Paper(paper_id=re.sub(r"\W+", "-", title.lower()), title=title, abstract=abstract, url="u")


def test_the_checked_in_file_is_what_the_script_writes(gen, questions, tmp_path):
    assert GENERATED.read_text(encoding="utf-8") == gen.render(questions)
    out = tmp_path / "g.jsonl"
    gen.main(["--out", str(out)])  # the command, with its defaults: the same file
    assert out.read_text(encoding="utf-8") == GENERATED.read_text(encoding="utf-8")
    gen.main(["--out", str(out), "--seed", "8"])
    assert out.read_text(encoding="utf-8") != GENERATED.read_text(encoding="utf-8")


def test_every_gold_title_is_in_the_corpus_and_the_set_has_its_shape(questions, corpus_papers):
    loaded = load_questions(GENERATED, [p.title for p in corpus_papers])  # raises on an unknown gold title
    assert [q.id for q in loaded] == [f"g{i:04d}" for i in range(1, len(loaded) + 1)]
    sizes = Counter((q.type, len(q.gold_titles)) for q in loaded[:350])
    assert sizes == {("factual", 1): 100, ("comparison", 2): 200, ("comparison", 3): 50}
    harder = Counter(q.type for q in loaded[350:])
    assert harder == {"comparison": 40 + 30 + 30, "factual": 20, "topic": 30, "unanswerable": 35}
    assert all(len(set(q.gold_titles)) == len(q.gold_titles) and q.answer_keywords == [] for q in loaded)
    pairs = [frozenset(q.gold_titles) for q in loaded if q.type == "comparison"]
    assert len(set(pairs)) == len(pairs)


def test_comparisons_use_every_template(gen, questions):
    """Each template, turned into a pattern, matches some comparison: at least 8 phrasings are in the set."""

    def pattern(template: str) -> re.Pattern[str]:
        text = re.escape(template)
        for slot in ("a", "b", "c", "t"):
            text = text.replace(re.escape("{" + slot + "}"), ".+")
        return re.compile(f"^{text}$", re.IGNORECASE)

    comparisons = [q["question"] for q in questions if q["type"] == "comparison"]
    used = {t for t in (*gen.PAIR, *gen.TRIPLE) if any(pattern(t).match(q) for q in comparisons)}
    assert used == set(gen.PAIR) | set(gen.TRIPLE) and len(used) >= 8
    assert any(q == q.lower() for q in comparisons)  # lower-case variants


def test_a_paper_is_named_when_its_name_is_its_own_and_described_otherwise(gen, questions, corpus_papers):
    refs = {r.paper.title: r for r in gen.refs(sorted(corpus_papers, key=lambda p: p.paper_id))}
    for q in questions[:350]:  # the harder phrasings after them refer to papers in other ways (tested below)
        for title in q["gold_titles"]:
            ref = refs[title]
            said = ref.text.lower() if q["question"] == q["question"].lower() else ref.text
            if q["question"].startswith("What is the paper '"):  # quoted from the title
                said = f"'{gen.fragment(ref.paper, corpus_papers)}'"
            assert said in q["question"], (q["id"], said)
    named = [r for r in refs.values() if r.name]
    assert len(named) >= 100
    # A name points at one paper only; a description at one paper only.
    assert len({gen._key(r.name) for r in named}) == len(named)
    descriptions = [r.description for r in refs.values()]
    assert len(set(descriptions)) == len(descriptions)
    assert refs["LeTI: Learning to Generate from Textual Interactions"].name == "LeTI"


def test_name_rules_on_made_up_papers(gen):
    assert gen.own_names(paper("FooNet: Fast Things")) == {"FooNet": 0}
    assert gen.own_names(paper("ERNIE 9.0: Bigger")) == {"ERNIE 9.0": 0}
    assert gen.own_names(paper("Beyond the Limits: A Survey")) == {}  # a phrase, not a name
    assert gen.own_names(paper("Recommendation as Processing (RAP): Unified")) == {"RAP": 1}
    defined = paper("Slow Things", "We propose Reinforced Slow Tuning (RST), a method. Prior work used "
                    "Proximal Policy Optimization (PPO). We introduce large language models (LLMs) too.")
    assert gen.own_names(defined) == {"RST": 2}  # not in a sentence introducing the work; no plurals
    assert not gen._defines("we use the cheap model", "RST")


def test_shared_or_contained_names_are_not_used(gen):
    papers = [paper("BarLM: One"), paper("BarLM: Two"), paper("YuLan: Base"), paper("YuLan-Mini: Small"),
              paper("Acronyms", "We propose Tiny Adapter Tuning (TAT)."), paper("Other", "TAT is used; TAT."),
              paper("More", "Also TAT here.")]
    names = gen.unambiguous_names(papers)
    assert set(names.values()) == {"YuLan-Mini"}  # BarLM twice; YuLan inside a title; TAT a common term
    refs = gen.refs(papers)
    assert refs[0].text == "the paper on barlm one" and refs[3].task == "small"


def test_the_generated_questions_do_not_copy_the_hand_written_splits(questions):
    written = {json.loads(line)["question"].lower() for line in (ROOT / "eval" / "dev.jsonl").read_text().splitlines()
               if line.strip()}
    assert not written & {q["question"].lower() for q in questions}
    assert CORPUS.is_dir()


def test_the_harder_phrasings_keep_their_gold_known(gen, questions, corpus_papers):
    """Each harder question still points at its gold by construction: a description's words are in the gold
    abstract and in no other one together; a typo is one swap of the gold's name; a topic's gold are exactly the
    titles holding its phrase; a detail asked for is absent from the gold abstract; a famous title is absent."""
    papers = sorted(corpus_papers, key=lambda p: p.paper_id)
    by_title = {p.title: p for p in papers}
    said = gen.contributions(papers)
    refs = {r.paper.title: r for r in gen.refs(papers)}
    harder = questions[350:]
    described = [q for q in harder if "the paper that " in q["question"]]
    assert len(described) == 60
    gold_ids = {pid for q in described for pid in (by_title[t].paper_id for t in q["gold_titles"])
                if said.get(pid, "\0") in q["question"]}
    assert all(any(said.get(by_title[t].paper_id, "\0") in q["question"] for t in q["gold_titles"])
               for q in described) and len(gold_ids) >= 20
    for pid, description in said.items():
        words = set(re.findall(r"[a-z0-9]+", description.lower())) - gen._VAGUE - {"paper", "proposes",
                                                                                   "introduces", "presents"}
        holders = [p.paper_id for p in papers if words <= set(re.findall(r"[a-z0-9]+",
                                                                          f"{p.title} {p.abstract}".lower()))]
        assert holders == [pid], description
    for q in harder[60:90]:  # the mistyped names
        name = refs[q["gold_titles"][0]].name
        assert name and name not in q["question"]
        assert any(gen.typo(name, _Fixed(i)) in q["question"] for i in range(len(name)))
    topics = gen.topics(papers)
    for q in (q for q in harder if q["type"] == "topic"):
        phrase = next(p for p in sorted(topics, key=len, reverse=True) if p in q["question"].lower())
        assert q["gold_titles"] == topics[phrase]
        assert all(re.search(rf"(?<![\\w-]){re.escape(phrase)}(?![\\w-])", t.lower()) for t in q["gold_titles"])
    for q in (q for q in harder if q["type"] == "unanswerable"):
        if "learning rate" in q["question"]:
            assert "learning rate" not in by_title[q["gold_titles"][0]].abstract.lower()
        if q["gold_titles"] == []:
            assert not any(t.lower() in q["question"].lower() for t in by_title)


class _Fixed:
    """A stand-in for random.Random whose choice is always the i-th spot."""

    def __init__(self, i: int) -> None:
        self.i = i

    def choice(self, spots):
        return spots[self.i] if self.i < len(spots) else spots[-1]


def test_descriptions_topics_and_typos_on_made_up_papers(gen):
    papers = [paper("Alpha", "We propose a gradient surgery scheme with sparse routing experts. It works."),
              paper("Beta", "We introduce a novel framework. It is simple."),  # too vague to describe
              paper("Gamma", "We present FooBar, a tokenizer."),  # only its name: no description
              paper("Delta One: x", "d"), paper("Delta Two", "Machine unlearning for delta things."),
              paper("Machine Unlearning at Scale", "m"), paper("Corrective Machine Unlearning", "c"),
              paper("Unlearning Machine Unlearning", "u")]
    assert gen.contributions(papers) == {
        "alpha": "the paper that proposes a gradient surgery scheme with sparse routing experts"}
    topics = gen.topics(papers)
    assert topics["machine unlearning"] == ["Corrective Machine Unlearning", "Machine Unlearning at Scale",
                                            "Unlearning Machine Unlearning"]
    assert gen.typo("SERENGETI", _Fixed(0)) == "SREENGETI" and gen.typo("LeTI", _Fixed(0)) is None
