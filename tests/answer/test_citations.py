"""Citation parsing, mapping, invalid markers and post-hoc attribution on real abstract text."""

from __future__ import annotations

import pytest

from assistant.answer.citations import check, parse_marker
from assistant.types import REFUSAL, Source

LETI = Source(1, "pA", "LeTI: Learning to Generate from Textual Interactions", "https://a", 0.9,
              "LeTI iteratively fine-tunes the model on textual feedback from a Python interpreter. "
              "On MBPP, a code generation dataset, LeTI substantially improves the performance of two base LMs.")
DEPT = Source(2, "pB", "DePT: Decomposed Prompt Tuning for Parameter-Efficient Fine-tuning", "https://b", 0.8,
              "DePT decomposes the soft prompt into a shorter soft prompt and a pair of low-rank matrices. "
              "It saves over 20% memory and time costs compared to vanilla prompt tuning.")


@pytest.mark.parametrize(
    ("body", "numbers"),
    [("1", [1]), ("1, 2", [1, 2]), ("1,3", [1, 3]), ("2-4", [2, 3, 4]), ("2–3", [2, 3]), ("1 and 2", [1, 2]),
     ("1; 5", [1, 5])],
)
def test_parse_marker(body, numbers):
    assert parse_marker(body) == numbers


def test_markers_map_to_their_papers_in_order_of_first_use():
    out = check("DePT saves over 20% memory compared to prompt tuning [2]. LeTI improves MBPP results [1, 2].",
                [LETI, DEPT])
    assert [(c.n, c.paper_id) for c in out.citations] == [(2, "pB"), (1, "pA")]
    assert "[1][2]" in out.text
    assert out.invalid_markers == 0


def test_markers_pointing_at_no_source_are_removed_and_counted():
    out = check("LeTI learns from textual feedback of a Python interpreter [1][7]. DePT decomposes prompts [3-4].",
                [LETI, DEPT])
    assert out.invalid_markers == 3
    assert "[7]" not in out.text and "[3]" not in out.text and "[4]" not in out.text
    assert [c.n for c in out.citations] == [1, 2]  # the second sentence is attributed to DePT after the fact


def test_uncited_sentence_gets_a_marker_when_a_source_clearly_supports_it():
    out = check("LeTI fine-tunes the model on textual feedback from a Python interpreter.", [LETI, DEPT])
    assert out.text == "LeTI fine-tunes the model on textual feedback from a Python interpreter [1]."
    assert out.citations[0].supported and not out.unsupported


def test_sentence_nothing_supports_is_flagged():
    out = check("The capital of France is Paris, a city famous for its bakeries.", [LETI, DEPT])
    assert out.citations == []
    assert out.unsupported == ["The capital of France is Paris, a city famous for its bakeries."]


def test_citation_to_a_source_that_does_not_support_the_claim_is_unsupported():
    out = check("The capital of France is Paris, famous for its bakeries [1].", [LETI, DEPT])
    assert [c.supported for c in out.citations] == [False]
    assert out.unsupported


def test_table_cells_keep_their_markers():
    table = ("| Aspect | LeTI [1] | DePT [2] |\n|---|---|---|\n"
             "| Method | fine-tunes on textual feedback [1] | decomposes the soft prompt [2] |\n\n"
             "LeTI learns from interpreter feedback [1], while DePT decomposes the soft prompt [2].")
    out = check(table, [LETI, DEPT])
    row = "| Method | fine-tunes on textual feedback [1] | decomposes the soft prompt [2] |"
    assert out.text.splitlines()[2] == row
    assert {c.n for c in out.citations} == {1, 2} and all(c.supported for c in out.citations)


def test_the_refusal_sentence_is_recognised():
    assert check(REFUSAL, [LETI]).says_refusal
    assert not check("LeTI learns from textual feedback [1].", [LETI]).says_refusal


def test_bare_markers_after_a_sentence_are_folded_into_it():
    out = check("LeTI learns from textual feedback of a Python interpreter [1]. [1]", [LETI, DEPT])
    assert out.text == "LeTI learns from textual feedback of a Python interpreter [1]."
    out = check("LeTI learns from textual feedback of a Python interpreter. [1]", [LETI, DEPT])
    assert out.text == "LeTI learns from textual feedback of a Python interpreter [1]."


@pytest.mark.parametrize(("claim", "supported"), [
    ("DePT saves over 20% memory and time costs compared to vanilla prompt tuning [2].", True),
    ("DePT saves over 20.0% memory and time compared to vanilla prompt tuning [2].", True),  # same value
    ("DePT saves over 35% memory and time costs compared to vanilla prompt tuning [2].", False),  # invented
    ("DePT saves 20% memory on 4 tasks compared to vanilla prompt tuning [2].", False),  # one number invented
    ("DePT decomposes the soft prompt into a pair of low-rank matrices like GPT-4 and LLaMA-7B [2].", True),
])
def test_a_number_the_cited_source_does_not_state_is_unsupported(claim, supported):
    out = check(claim, [LETI, DEPT])
    assert (out.unsupported == []) is supported
    assert [c.supported for c in out.citations] == [supported]


def test_table_cells_are_checked_against_their_column_header_source():
    table = ("| Aspect | LeTI [1] | DePT [2] |\n|---|---|---|\n"
             "| Method | Fine-tunes on textual feedback from a Python interpreter | Decomposes the soft prompt "
             "into low-rank matrices |\n"
             "| Results | Improves performance on MBPP code generation | Cures cancer in mice with new drugs |")
    out = check(table, [LETI, DEPT])
    assert out.claims == 4
    assert out.unsupported == ["Cures cancer in mice with new drugs"]  # checked against DePT, its column
    assert out.text.splitlines()[2].count("[") == 0  # cells get no markers added: the header carries them
    # A table whose cells come from nowhere is unsupported throughout, which the pipeline refuses.
    swapped = check(table.replace("LeTI [1] | DePT [2]", "LeTI [2] | DePT [1]"), [LETI, DEPT])
    assert len(swapped.unsupported) == 4


def test_a_synthesis_sentence_about_two_papers_cites_both():
    out = check("LeTI fine-tunes on textual feedback from an interpreter, while DePT decomposes the soft prompt "
                "into low-rank matrices.", [LETI, DEPT])
    assert [c.n for c in out.citations] == [1, 2] and out.unsupported == [] and "[1][2]." in out.text
    assert all(c.supported for c in out.citations)
