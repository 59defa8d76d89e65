"""Rule-based intent detection and decomposition: many phrasings, no model involved."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.answer.intent import DEFAULT_ASPECTS, detect


@pytest.mark.parametrize(
    ("question", "items"),
    [
        ("How does LeTI differ from DePT?", ["LeTI", "DePT"]),
        ("Compare LoRAMoE and DePT", ["LoRAMoE", "DePT"]),
        ("LeTI vs DePT vs HFT", ["LeTI", "DePT", "HFT"]),
        ("What is the difference between GreaseLM and LeTI?", ["GreaseLM", "LeTI"]),
        ("Do LeTI, DePT and LoRAMoE all use fine-tuning?", ["LeTI", "DePT", "LoRAMoE"]),
        ("Which is better, DePT or LoRA?", ["DePT", "LoRA"]),
        ("How do LeTI and CodeGen2 compare on code generation?", ["LeTI", "CodeGen2"]),
        ("How does DePT compare to LoRA for parameter-efficient fine-tuning?", ["DePT", "LoRA"]),
        ("Compare the goals and datasets of LeTI and GreaseLM.", ["LeTI", "GreaseLM"]),
        ("HFT versus ReFT", ["HFT", "ReFT"]),
        ("PROP vs B-PROP: how do they construct the prediction task?", ["PROP", "B-PROP"]),
        ("Toolformer versus ToolBridge: how do they equip models with tools?", ["Toolformer", "ToolBridge"]),
        ("How do LM-Critic and Sequence-to-Action approach grammatical error correction?",
         ["LM-Critic", "Sequence-to-Action"]),
        ("How do HFT and LoRAMoE avoid forgetting?", ["HFT", "LoRAMoE"]),
        ("Compare CamemBERT and WECHSEL as ways to get models for French.", ["CamemBERT", "WECHSEL"]),
    ],
)
def test_comparisons_and_their_items(question, items):
    intent = detect(question)
    assert intent.kind == "comparison" and intent.items == items


def test_aspects_from_the_question_or_defaults():
    assert detect("Compare the goals and datasets of LeTI and GreaseLM.").aspects == ["Goal", "Data"]
    assert detect("LeTI vs DePT on results").aspects == ["Results"]
    assert detect("Compare LoRAMoE and DePT").aspects == DEFAULT_ASPECTS


@pytest.mark.parametrize(
    "question",
    ["Which papers study catastrophic forgetting?", "What papers propose prompt tuning methods?",
     "List papers about code generation", "Find works that use reinforcement learning for reasoning"],
)
def test_topic_questions(question):
    assert detect(question).kind == "topic"


@pytest.mark.parametrize(
    "question",
    ["What does DePT compare against?",  # one paper's baselines, not a comparison of papers
     "How much training time does HFT save compared with full fine-tuning?",  # a fact about one paper
     "What is the main contribution of the AlphaFold 2 paper on protein structure?",
     "How does B-PROP pre-train?", "What is LeTI?",
     "How do large models and retrieval help question answering?",  # not two named things
     "What is the ratio: A and B?", "How many questions does CoTErrorSet have?", ""],
)
def test_factual_questions(question):
    assert detect(question).kind == "factual"


@given(st.text(max_size=300))
def test_never_crashes_and_items_are_short(text):
    intent = detect(text)
    assert intent.kind in {"factual", "comparison", "topic"}
    assert all(0 < len(i.split()) <= 8 for i in intent.items) and len(intent.items) <= 4
