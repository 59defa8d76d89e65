"""Filters stated in a question's words, parsed without a model: seeded templates over real corpus topics and the
real authors and venues of the sample library files (never eval questions)."""

from __future__ import annotations

import random

import pytest

from assistant.answer.filters import parse_filters
from assistant.config import Filters
from assistant.ingest.corpus import read_paths
from assistant.search.filters import FilterIndex, PaperFacts, _words, initials
from tests.ingest.test_library import DATA, SAMPLES

LIBRARY = [DATA / name for name in sorted(SAMPLES)]


@pytest.fixture(scope="module")
def library():
    return read_paths(LIBRARY).papers


@pytest.fixture(scope="module")
def index(library) -> FilterIndex:
    return FilterIndex(1, {p.paper_id: PaperFacts(p.year, tuple(_words(a) for a in p.author_names),
                                                  _words(p.venue or ""), initials(p.venue or ""))
                           for p in library})


@pytest.fixture(scope="module")
def topics(corpus_papers) -> list[str]:
    """Subjects as researchers write them: the part of real corpus titles after the colon, lowercased."""
    rng = random.Random(5)
    titles = [p.title.split(":", 1)[1].strip() for p in corpus_papers if ":" in p.title]
    return [t[0].lower() + t[1:] for t in rng.sample(titles, 25) if "20" not in t and " by " not in t.lower()]


YEAR_TEMPLATES = [
    ("Which papers since {y} study {t}?", lambda y: (y, None)),
    ("What work on {t} was published after {y}?", lambda y: (y + 1, None)),
    ("Papers on {t} from before {y}", lambda y: (None, y - 1)),
    ("Which papers in {y} address {t}?", lambda y: (y, y)),
    ("What papers from {y} onwards discuss {t}?", lambda y: (y, None)),
    ("List papers on {t} up to {y}.", lambda y: (None, y)),
]


@pytest.mark.parametrize(("template", "expect"), YEAR_TEMPLATES)
def test_year_phrases_become_a_range_and_leave_the_question(index, topics, template, expect):
    rng = random.Random(template)
    for topic in topics[:8]:
        year = rng.randint(2015, 2025)
        parsed = parse_filters(template.format(y=year, t=topic), index)
        assert (parsed.filters.year_from, parsed.filters.year_to) == expect(year)
        assert str(year) not in parsed.question and topic in parsed.question


@pytest.mark.parametrize("template", ["Which papers between {a} and {b} study {t}?", "{t}: papers from {a} to {b}",
                                      "papers on {t}, {a}-{b}"])
def test_year_ranges(index, topics, template):
    for topic in topics[:5]:
        parsed = parse_filters(template.format(a=2021, b=2023, t=topic), index)
        assert (parsed.filters.year_from, parsed.filters.year_to) == (2021, 2023)


def test_an_author_of_the_collection_is_a_filter_in_any_of_their_spellings(index, library, topics):
    rng = random.Random(11)
    named = [p for p in library if p.author_names]
    for _ in range(12):
        paper = rng.choice(named)
        full = rng.choice(paper.author_names)
        surname = full.split()[-1]
        topic = rng.choice(topics)
        for who in (surname, full, f"{surname} et al."):
            parsed = parse_filters(f"What do the papers by {who} say about {topic}?", index)
            assert parsed.filters.author in (surname, full), (who, parsed)
            assert surname not in parsed.question and topic in parsed.question


def test_names_the_collection_does_not_have_stay_in_the_question(index, topics):
    for topic in topics[:6]:
        for q in (f"Which methods proposed by Google improve {topic}?", f"How is {topic} done in LoRA?",
                  f"What do papers by Zyxwvutsrq say about {topic}?"):
            parsed = parse_filters(q, index)
            assert parsed.filters == Filters() and parsed.question == q


def test_a_venue_is_matched_by_its_acronym_or_its_words(index, library, topics):
    venues = {p.venue for p in library if p.venue}
    assert any("Computational Linguistics" in v for v in venues)
    for topic in topics[:5]:
        assert parse_filters(f"Which papers in ACL study {topic}?", index).filters.venue == "ACL"
        assert parse_filters(f"{topic} at NeurIPS", index).filters.venue == "NeurIPS"
        combined = parse_filters(f"Papers by Wang in ACL since 2021 on {topic}", index)
        assert combined.filters == Filters(year_from=2021, author="Wang", venue="ACL")
        assert combined.question == f"Papers on {topic}"


def test_a_question_that_is_only_a_filter_keeps_its_words(index):
    parsed = parse_filters("since 2024?", index)
    assert parsed.filters.year_from == 2024 and parsed.question == "since 2024?"


def test_a_question_since_a_year_gets_only_papers_of_those_years(built_store, embedder):
    """The built-in corpus: the captures that date their papers give them a year; a question "since 2024" is
    answered from those alone, and says so."""
    from assistant.answer.pipeline import SourcesFound
    from assistant.app import build
    from assistant.llms.fake import FakeBackend
    from tests.support import make_settings

    app = build(make_settings(built_store), backend=FakeBackend(), embedder=embedder)
    for question in ("Which papers since 2024 study language model fine-tuning?",
                     "What papers published after 2023 are about instruction tuning?"):
        events = list(app.pipeline.stream(question))
        found = next(e for e in events if isinstance(e, SourcesFound))
        assert found.filters == "2024–" and "2023" not in found.standalone and "2024" not in found.standalone
        years = {p.year for p in app.store.first_chunks([s.paper_id for s in found.sources]).values()}
        assert found.sources and years <= {2024, 2025}
        unfiltered = app.pipeline.ask(question.replace(" since 2024", "").replace(" published after 2023", ""))
        assert {s.paper_id for s in unfiltered.sources} != {s.paper_id for s in found.sources}
