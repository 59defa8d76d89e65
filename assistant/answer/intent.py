"""Rule-based question intent: comparison (with its items and aspects), topic ("which papers ..."), or factual.

No model is asked to emit JSON, so nothing here can fail on malformed output; unknown phrasing is factual.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.types import QuestionKind

DEFAULT_ASPECTS = ["Goal", "Method", "Data", "Results"]
_ASPECT_WORDS = {
    "goal": "Goal", "goals": "Goal", "aims": "Goal", "methods": "Method", "approaches": "Method",
    "aim": "Goal", "objective": "Goal", "problem": "Goal", "motivation": "Goal",
    "method": "Method", "approach": "Method", "technique": "Method", "architecture": "Method", "how": "Method",
    "data": "Data", "dataset": "Data", "datasets": "Data", "benchmark": "Data", "benchmarks": "Data",
    "result": "Results", "results": "Results", "performance": "Results", "accuracy": "Results",
    "efficiency": "Efficiency", "cost": "Efficiency", "memory": "Efficiency", "speed": "Efficiency",
    "parameters": "Parameters", "limitation": "Limitations", "limitations": "Limitations",
}
_COMPARE = re.compile(
    r"\b(compares?|comparison|comparing|vs\.?|versus|differ(?:s|ence|ences|ent)?|contrast|"
    r"which (?:one |of them |of these )?(?:is|are|performs?|works?) (?:better|worse|faster|more|less)|"
    r"similarit(?:y|ies)|in common|both|all (?:three|3|of them)|(?:,[^,]+)+,?\s+and\s+\S+\s+all)\b",
    re.IGNORECASE,
)
_TOPIC = re.compile(
    r"^\s*(?:which|what|list|find|show|name)\s+(?:\w+\s+){0,2}(?:papers?|works|studies|articles|methods)\b|"
    r"\b(?:papers|works|studies)\s+(?:that|which|about|on|addressing|proposing|using)\b",
    re.IGNORECASE,
)
_LEAD = re.compile(
    r"^\s*(?:please\s+)?(?:how\s+(?:do|does|did)\s+|what\s+(?:is|are)\s+(?:the\s+)?(?:main\s+)?"
    r"(?:differences?|similarities)\s+(?:between|of)\s+|compare\s+|contrast\s+|what\s+do\s+|do\s+|does\s+|"
    r"in\s+what\s+ways?\s+do\s+|which\s+(?:one\s+)?(?:is|works|performs)\s+(?:better|worse)\s*[,:]?\s*)",
    re.IGNORECASE,
)
_TAIL = re.compile(
    r"\s+(?:differ|compare|relate|contrast|have in common|all|both|in terms of|on|for|in|at|as|when|with respect to|"
    r"regarding|when it comes to)\b.*$",
    re.IGNORECASE,
)
_BETWEEN = re.compile(r"\s+(?:differs?|different|compared?|compares)\s+(?:from|to|with|against)\s+", re.I)
_NAME = r"[A-Z0-9][\w\-.+]*(?:\s+[A-Z0-9][\w\-.+]*){0,3}"  # "LoRAMoE", "LM-Critic", "Sequence-to-Action"
# "How do LM-Critic and Sequence-to-Action approach X?": two named things doing the same verb (case-sensitive).
_HOW_DO_BOTH = re.compile(rf"^\s*(?:[Hh]ow|[Ww]hy)\s+do\s+({_NAME})\s+and\s+({_NAME})\s+[a-z]+\b")
_SPLIT = re.compile(r"\s*(?:,\s*(?:and|or)\s+|,\s*|\s+and\s+|\s+or\s+|\s+vs\.?\s+|\s+versus\s+|\s*/\s*)\s*",
                    re.IGNORECASE)


@dataclass(frozen=True)
class Intent:
    kind: QuestionKind
    items: list[str] = field(default_factory=list)
    aspects: list[str] = field(default_factory=list)


def aspects_in(question: str) -> list[str]:
    words = re.findall(r"[a-z]+", question.lower())
    found = [_ASPECT_WORDS[w] for w in words if w in _ASPECT_WORDS and w != "how"]
    return list(dict.fromkeys(found)) or list(DEFAULT_ASPECTS)


def compared_items(question: str) -> list[str]:
    """'How do LeTI, DePT and LoRAMoE differ in data?' -> ['LeTI', 'DePT', 'LoRAMoE']."""
    text = _BETWEEN.sub(" vs ", _LEAD.sub("", question.strip()))
    # "PROP vs B-PROP: how do they ...": the items are before the colon.
    head = text.split(":", 1)[0]
    if head != text and len(_SPLIT.split(head)) >= 2:
        text = head
    text = _TAIL.sub("", text)
    text = re.sub(r"^(?:the\s+)?(?:differences?|similarities)\s+(?:between|of)\s+", "", text, flags=re.I)
    text = re.sub(r"^(?:between\s+)", "", text, flags=re.I).strip(" ?.!")
    # "the goals and datasets of LeTI and GreaseLM": the items follow the last "of"/"between".
    if m := re.search(r"\b(?:of|between)\s+((?:(?!\b(?:of|between)\b).)+)$", text, flags=re.I):
        tail = [p for p in _SPLIT.split(m.group(1)) if p.strip()]
        if len(tail) >= 2:
            text = m.group(1)
    parts = [p.strip(" ?.!\"'“”") for p in _SPLIT.split(text)]
    items = [re.sub(r"^(?:the|a|an)\s+", "", p, flags=re.I) for p in parts if p]
    items = [i for i in items if 0 < len(i.split()) <= 8]
    return list(dict.fromkeys(items))[:4]


def detect(question: str) -> Intent:
    if _TOPIC.search(question) and not re.search(r"\b(?:vs\.?|versus|differ)\b", question, re.I):
        return Intent(QuestionKind.TOPIC)
    if _COMPARE.search(question):
        items = compared_items(question)
        if len(items) >= 2:
            return Intent(QuestionKind.COMPARISON, items, aspects_in(question))
    if m := _HOW_DO_BOTH.match(question):
        return Intent(QuestionKind.COMPARISON, [m.group(1), m.group(2)], aspects_in(question))
    return Intent(QuestionKind.FACTUAL)
