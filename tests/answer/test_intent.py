"""What the wording alone says (no index): referring pieces, topic cues and subjects, aspects.

Properties over templates filled with real corpus names (seeded random), not copies of eval questions. Which
papers the pieces mean, and so whether a question is a comparison, is tested with the index in test_resolve.py.
"""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.answer.intent import (
    DEFAULT_ASPECTS,
    aspects_in,
    comparison_cue,
    pieces,
    topic_cue,
    topic_subject,
)

SEED = 20261201
LISTS = [
    "Compare {a} and {b}.", "How does {a} differ from {b}?", "{a} vs. {b} vs. {c}",
    "{a} versus {b}: which works better?",
    "What do {a} and {b} have in common?", "{a} or {b} for low-resource translation?",
    "how does each of {a}, {b} and {c} handle long inputs?", "What is the difference between {a} and {b}?",
    "Contrast the approaches of {a}, {b}, and {c}.", "compare {a} with {b}", "How do {a} and {b} compare on data?",
    "What are the main differences between {a}, {b} and {c}?", "How is {a} related to {b}?",
]
TOPICS = [
    "Which papers study {s}?", "What work in the collection tackles {s}?", "Is there anything on {s}?",
    "Any papers on {s}?", "I need references about {s}.", "What has been done on {s}?", "List papers about {s}",
    "Are there any studies on {s}?", "Which papers in the collection are about {s}?", "any work on {s}?",
    "What work is there on {s}?", "Is there any work proposing {s}?", "I'm looking for papers on {s}.",
    "Are there papers dealing with {s}?", "What does the collection have about {s}?", "what's in here on {s}?",
    "I need everything on {s}.", "What do you have on {s}?",
]
NOT_TOPICS = [
    "What did the paper on {s} find?", "Which paper introduces {s}?", "What is {s}?", "How does {s} work?",
    "What does the work on {s} propose?", "Which model does the {s} paper use?",
]


@pytest.fixture(scope="module")
def names(corpus_papers) -> list[str]:
    """One-word title prefixes of real papers ("LoRAMoE", "B-PROP"): names with no separator inside."""
    found = {p.title.split(": ", 1)[0] for p in corpus_papers if ": " in p.title}
    return sorted(n for n in found if re.fullmatch(r"[A-Za-z][\w\-.+]{2,}", n) and n.lower() not in ("and", "or"))


@pytest.fixture(scope="module")
def subjects(corpus_papers) -> list[str]:
    """Lower-case title phrases of real papers, as subjects a person might ask about."""
    titles = [p.title.split(": ", 1)[-1] for p in corpus_papers]
    return sorted({" ".join(t.lower().rstrip("?.").split()[:5]) for t in titles if len(t.split()) >= 3})


def _filled(template: str, rng: random.Random, names: list[str]) -> tuple[str, list[str]]:
    items = rng.sample(names, 3)[: template.count("{")]
    return template.format(**dict(zip("abc", items, strict=False))), items


@pytest.mark.parametrize("template", LISTS)
def test_each_listed_name_is_one_piece(template, names):
    rng = random.Random(f"{SEED}{template}")
    for _ in range(20):
        question, items = _filled(template, rng, names)
        assert [p.text for p in pieces(question)][: len(items)] == items, question


@pytest.mark.parametrize("template", LISTS)
def test_lower_case_lists_split_the_same_way(template, names):
    rng = random.Random(f"{SEED}{template}lower")
    for _ in range(10):
        question, items = _filled(template, rng, names)
        assert [p.text for p in pieces(question.lower())][: len(items)] == [i.lower() for i in items]


def test_a_kept_span_is_never_cut():
    question = "ARBERT & MARBERT vs. Retriever-and-Memory, Fine-tuning or Prompting and LeTI"
    known = ["ARBERT & MARBERT", "Fine-tuning or Prompting"]  # spans known to be one paper's name
    keep = [(question.index(k), question.index(k) + len(k)) for k in known]
    assert [p.text for p in pieces(question, keep)] == ["ARBERT & MARBERT", "Retriever-and-Memory",
                                                       "Fine-tuning or Prompting", "LeTI"]
    assert [p.text for p in pieces(question)][:2] == ["ARBERT", "MARBERT"]  # without them, "&" separates


def test_descriptions_keep_their_own_words():
    question = ("Compare the paper that uses a language model as a prior for translation with the MCMC-EM "
                "approach to training chain-of-thought as a latent variable.")
    assert [p.text for p in pieces(question)] == [
        "the paper that uses a language model as a prior for translation",
        "the MCMC-EM approach to training chain-of-thought as a latent variable"]


@pytest.mark.parametrize("template", [
    "What does {a} do, and how is it evaluated?", "How does {a} train its model and what data does it use?",
    "What is {a}? And what does it improve?", "Which datasets does {a} use, and what does it find?"])
def test_the_second_part_of_a_two_part_question_is_a_clause(template, names):
    rng = random.Random(f"{SEED}{template}")
    for _ in range(10):
        question, _ = _filled(template, rng, names)
        assert [p.referring for p in pieces(question)][1:] == [False] * (len(pieces(question)) - 1), question


@pytest.mark.parametrize("template", TOPICS)
def test_topic_phrasings_are_topics_and_keep_their_subject(template, subjects):
    rng = random.Random(f"{SEED}{template}")
    for subject in rng.sample(subjects, 15):
        question = template.format(s=subject)
        assert topic_cue(question) == "papers", question
        # What is left is the subject, perhaps after its verb ("study ..."), without the words asking for papers.
        kept = topic_subject(question)
        assert kept.endswith(subject) and len(kept.split()) <= len(subject.split()) + 1, question


@pytest.mark.parametrize("template", NOT_TOPICS)
def test_a_question_about_one_paper_is_not_a_topic(template, subjects):
    rng = random.Random(f"{SEED}{template}")
    for subject in rng.sample(subjects, 15):
        question = template.format(s=subject)
        assert topic_cue(question) is None, question
        assert topic_subject(question) == question


def test_which_methods_is_a_weaker_topic_cue():
    assert topic_cue("Which methods make fine-tuning cheaper?") == "weak"
    assert topic_cue("Which reinforcement learning algorithm does ReFT use?") is None
    # A request to be shown things is as weak: "show me the results of LeTI" is about LeTI (test_resolve.py).
    assert topic_cue("Show me the models built for Arabic") == "weak" and topic_cue("What does it show?") is None


def test_comparison_cues():
    assert all(comparison_cue(q) for q in ["A vs B", "How do A and B differ?", "What do A and B have in common",
                                           "how does each of A and B work", "the difference between A and B"])
    # "or" and "and" join anything: not cues on their own.
    assert not any(comparison_cue(q) for q in ["Does A use RL or supervised data?", "What are A and B?"])
    assert comparison_cue("Compare A and B", strict=True) and not comparison_cue("each of A", strict=True)


def test_aspects_from_the_question_or_defaults():
    assert aspects_in("Compare the goals and datasets of A and B.") == ["Goal", "Data"]
    assert aspects_in("A vs B on results") == ["Results"]
    assert aspects_in("How do A and B work?") == DEFAULT_ASPECTS


@given(st.text(max_size=300))
def test_never_crashes_and_pieces_are_inside_the_question(text):
    found = pieces(text)
    assert all(0 <= p.start < p.end <= len(text) and text[p.start:p.end] == p.text for p in found)
    assert [p.start for p in found] == sorted(p.start for p in found)
    topic_cue(text)
    assert isinstance(topic_subject(text), str)


LEAD_INS = ["I am writing a survey on this.", "We are choosing a baseline for our paper.",
            "i have a question about two papers."]


@pytest.mark.parametrize("template", [
    "{lead} How does {a} differ from {b}?", "Take {a} and {b}. How does each of them work?",
    "{lead} Compare {a}, {b} and {c}.", "consider {a} and {b}. what do they have in common?"])
def test_a_sentence_of_its_own_is_cut_from_the_next(template, names):
    """A lead-in sentence is a clause, not a paper; a list in one sentence and the question about it in the
    next are still the list's pieces."""
    rng = random.Random(f"{SEED}{template}")
    for _ in range(15):
        items = rng.sample(names, 3)[: template.count("{") - template.count("{lead}")]
        question = template.format(lead=rng.choice(LEAD_INS), **dict(zip("abc", items, strict=False)))
        found = pieces(question)
        assert [p.text for p in found if p.referring] == items, question
        assert not found[0].referring or found[0].text == items[0], question
