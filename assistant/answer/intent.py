"""What a question's wording alone says: whether it is phrased as a topic search or a comparison, the aspects it
asks about, and the pieces of it that may each refer to one paper ("A", "B" and "C" in "A, B and C").

It never decides that a question is a comparison or which papers it means: that needs the collection
(`answer.resolve` turns pieces into papers, `answer.plan` decides). Unknown phrasing gives no cues, never an error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_ASPECTS = ["Goal", "Method", "Data", "Results"]
_ASPECT_WORDS = {
    "goal": "Goal", "goals": "Goal", "aims": "Goal", "methods": "Method", "approaches": "Method",
    "aim": "Goal", "objective": "Goal", "problem": "Goal", "motivation": "Goal",
    "method": "Method", "approach": "Method", "technique": "Method", "architecture": "Method",
    "data": "Data", "dataset": "Data", "datasets": "Data", "benchmark": "Data", "benchmarks": "Data",
    "result": "Results", "results": "Results", "performance": "Results", "accuracy": "Results",
    "efficiency": "Efficiency", "cost": "Efficiency", "memory": "Efficiency", "speed": "Efficiency",
    "parameters": "Parameters", "limitation": "Limitations", "limitations": "Limitations",
}
MAX_ITEMS = 6  # papers compared in one question at most

# "Which papers ...", "any work on ...", "is there anything about ...", "I need references about ...": a request
# for every paper on a subject. Plural or mass nouns only: "which paper proposes X" and "what did the paper on X
# find" ask about one paper. "Which methods ..." is a weaker cue (`_WEAK_TOPIC`).
# What links the words asking for papers to the subject: "work proposing ways to ...", "papers dealing with ...".
_TOPIC_VERB = (r"proposing|studying|addressing|tackling|investigating|exploring|using|dealing\s+with|"
               r"focusing\s+on|related\s+to")
_PAPER_NOUN = r"(?:papers|works?|studies|articles|publications|research|literature|references|anything|everything)"
# What the collection holds, asked of it: "what does the collection have on", "what's in here about", "what do
# you have on".
_HOLDINGS = (r"what(?:['’]s|\s+is|\s+does|\s+do)?\s+(?:in\s+the\s+collection|the\s+collection|in\s+here|you|we)"
             r"(?:\s+(?:have|hold|holds|contain|contains|got))?")
_TOPIC = re.compile(
    rf"^\s*(?:which|what|list|find|show|name|give|get|recommend|suggest)\s+(?:me\s+)?"
    rf"(?:(?!the\b|a\b|this\b)\w+\s+){{0,2}}{_PAPER_NOUN}\b|"
    rf"\b(?:is|are)\s+there\s+(?:any|some|anything|papers?|works?|studies)\b|"
    rf"^\s*(?:any|some)\s+{_PAPER_NOUN}\b|"
    rf"\b(?:i(?:\s+(?:need|want|am\s+looking\s+for)|['’]m\s+looking\s+for)|looking\s+for|point\s+me\s+to)\s+"
    rf"(?:\w+\s+){{0,2}}{_PAPER_NOUN}\b|"
    rf"\bwhat\s+(?:has|have)\s+been\s+(?:done|written|published|proposed|studied)\b|"
    rf"\b(?:papers|works|studies|articles|publications|research|literature|references)\s+"
    rf"(?:in\s+the\s+collection\s+)?(?:that|which|about|on|{_TOPIC_VERB})\b|"
    rf"\b(?:what|which)\s+(?:\w+\s+){{0,3}}(?:in|from)\s+the\s+collection\b|"
    rf"\b{_HOLDINGS}\s+(?:on|about|regarding|concerning)\b",
    re.IGNORECASE,
)
# The words of a topic question that ask for papers rather than say what about: "Which papers in the collection
# are about", "Is there anything on", "I need references about". What follows is the subject searched for.
_TOPIC_LEAD = re.compile(
    rf"^\s*(?:(?:please\s+)?(?:which|what|list|find|show|name|give|get|recommend|suggest)\s+(?:me\s+)?"
    rf"(?:(?!the\b|a\b|this\b)\w+\s+){{0,2}}?{_PAPER_NOUN}|(?:is|are)\s+there\s+(?:any|some)?\s*"
    rf"(?:\w+\s+){{0,2}}?{_PAPER_NOUN}?|(?:any|some)\s+{_PAPER_NOUN}|"
    rf"i(?:\s+(?:need|want|am\s+looking\s+for)|['’]m\s+looking\s+for)\s+(?:\w+\s+){{0,2}}?{_PAPER_NOUN}|"
    rf"what\s+(?:has|have)\s+been\s+(?:done|written|published|proposed|studied)|{_HOLDINGS})"
    rf"(?:\s+(?:in|from)\s+the\s+collection)?(?:\s+(?:are|is)\s+there|\s+(?:are|is|have\s+been|has\s+been))?"
    rf"(?:\s+(?:about|on|in|regarding|concerning|that|which|where|{_TOPIC_VERB}))?\s+",
    re.IGNORECASE,
)
# Weaker cues, a topic only when the question names no paper: "Which methods ..." ("Which methods does LeTI
# compare against?" is about LeTI) and a request to be shown things ("show me the models built for Arabic"; "list
# the datasets LeTI uses" is about LeTI).
_WEAK_TOPIC = re.compile(r"^\s*(?:which|what|list|name)\s+(?:(?!papers?\b|the\b|a\b)\w+\s+){0,2}"
                         r"(?:methods|approaches|techniques)\b|"
                         r"^\s*(?:please\s+)?(?:show|list|find|give|get|recommend|suggest)\s+me\b|"
                         r"^\s*(?:please\s+)?(?:list|find)\s+(?:all\s+)?(?:the\s+)?\w+s\b", re.IGNORECASE)
_COMPARE = re.compile(
    r"\b(?:compar\w*|vs\.?|versus|differ\w*|contrast\w*|distinguish\w*|similar\w*|in\s+common|both|each|"
    r"between|alike|relate|related|relationship|trade-?offs?|pros\s+and\s+cons)\b",
    re.IGNORECASE,
)
_STRICT_COMPARE = re.compile(r"\b(?:compar\w*|vs\.?|versus|differ\w*|contrast\w*|in\s+common)\b", re.IGNORECASE)

# Where one referring piece ends and the next begins; never inside a span already known to be one paper's name or
# title (`keep`), so "ARBERT & MARBERT" and "Retriever-and-Memory" stay whole.
# The end of a sentence inside the question ("Take A and B. How does each ..."): a full stop after a word of two
# or more letters that is no abbreviation ("vs.", "e.g.", "et al.", "v.s.").
_SENTENCE_END = re.compile(r"(?<=\w\w)(?<!\bvs)(?<!\bal)(?<!\betc)(?<!\bcf)[.!]\s+")
_SEPARATOR = re.compile(
    _SENTENCE_END.pattern + r"|\s+(?:vs\.?|versus)\s+|\s*;\s*|\s+/\s+|\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|&)\s+|"
    r"\s+(?:differs?|different|distinct|compared?|compares|contrasted|contrasts?|better|worse|faster|slower|"
    r"stronger|weaker)\s+(?:from|to|with|against|than)\s+|\s+(?:relate|relates|related)\s+to\s+",
    re.IGNORECASE,
)
_COMPARE_WITH = re.compile(r"^\s*(?:please\s+)?(?:compare|contrast)\b", re.IGNORECASE)
_WITH = re.compile(r"\s+(?:with|against|to)\s+", re.IGNORECASE)  # "Compare A with B", before any other cut
_LEAD_WORDS = frozenset(
    """please so and but also then now ok okay how why what which where when who whom whose do does did is are was
    were can could would should will has have had compare contrast comparing contrasting between among each both
    all of differences difference similarities similarity distinctions main key major tell me explain describe
    summarise summarize approaches methods goals techniques in ways way take consider""".split()
)
_TAIL = re.compile(
    r"\s+(?:differ|differs|compare|compares|relate|relates|contrast|have\s+in\s+common|has\s+in\s+common|"
    r"in\s+terms\s+of|with\s+respect\s+to|regarding|when\s+it\s+comes\s+to|each|both|all|approach|handle|"
    r"tackle|perform|try|tried|do|does|did|use|work|stack\s+up)\b.*$",
    re.IGNORECASE,
)
_PREPOSITION_TAIL = re.compile(r"\s+(?:on|for|in|at|as|when|to)\b.*$", re.IGNORECASE)
_DESCRIPTION = re.compile(r"^(?:the|a|an)\b|\b(?:that|which|who)\b", re.IGNORECASE)  # "the X approach to ..."
_PHRASE_TAIL = re.compile(
    r"\s+(?:differ|differs|compare|compares|have\s+in\s+common|has\s+in\s+common|in\s+terms\s+of|"
    r"with\s+respect\s+to|regarding|when\s+it\s+comes\s+to)\b.*$",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r"\b(?:it|its|they|them|their|this|these|those|he|she|we|you|i|do|does|did)\b", re.IGNORECASE)
_STARTS_CLAUSE = re.compile(r"^\s*(?:how|why|what|which|where|when|who|is|are|was|were|does|do|did|can|could|"
                            r"would|should|will|has|have)\b", re.IGNORECASE)


def aspects_in(question: str) -> list[str]:
    """The table rows a comparison asks for ("goals and datasets" -> Goal, Data), else the default rows."""
    words = re.findall(r"[a-z]+", question.lower())
    found = [_ASPECT_WORDS[w] for w in words if w in _ASPECT_WORDS]
    return list(dict.fromkeys(found)) or list(DEFAULT_ASPECTS)


def topic_cue(question: str) -> str | None:
    """"papers" when the question asks for the papers on a subject, "weak" when it asks which methods do
    something or to be shown things (a topic only if it refers to no paper), else None."""
    if _TOPIC.search(question):
        return "papers"
    return "weak" if _WEAK_TOPIC.search(question) else None


def topic_subject(question: str) -> str:
    """What a topic question is about, without the words asking for papers ("Which papers are about machine
    unlearning?" -> "machine unlearning"); the question itself when no such words lead it."""
    lead = _TOPIC_LEAD.match(question)
    subject = question[lead.end():].strip(" ?.!") if lead else ""
    return subject if re.search(r"\w", subject) else question


def comparison_cue(question: str, *, strict: bool = False) -> bool:
    """Words that set papers side by side ("vs", "differ", "in common", "each", "both" ...); `strict`: only words
    that can mean nothing else ("compare", "vs", "differ", "contrast", "in common"). A cue, not a decision: "or"
    and "and" are not cues, they join anything."""
    return bool((_STRICT_COMPARE if strict else _COMPARE).search(question))


@dataclass(frozen=True)
class Piece:
    """A stretch of the question that may refer to one paper: characters start..end, lead and tail words cut."""

    start: int
    end: int
    text: str
    referring: bool  # False for a clause ("how is it evaluated") or a piece of only question words

    def covers(self, start: int, end: int) -> bool:
        return self.start <= start and end <= self.end


def _inside(pos: int, keep: Sequence[tuple[int, int]]) -> bool:
    return any(a < pos < b for a, b in keep)


def _cuts(question: str, keep: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Separator spans outside `keep`, in order; "compare A with B" also splits at its first "with"."""
    cuts = [(m.start(), m.end()) for m in _SEPARATOR.finditer(question)
            if not _inside(m.start(), keep) and not _inside(m.end(), keep)]
    if _COMPARE_WITH.match(question):
        first = next((m for m in _WITH.finditer(question)
                      if not _inside(m.start(), keep) and not _inside(m.end(), keep)), None)
        if first is not None and all(first.end() <= a for a, _ in cuts):
            cuts = sorted([*cuts, (first.start(), first.end())])
    return cuts


def _strip(question: str, start: int, end: int, keep: Sequence[tuple[int, int]]) -> tuple[int, int, bool]:
    """Move start past lead-in words ("How does", "Compare the approaches of") and end before a tail ("differ
    in ..."), never into a kept span; also say whether what follows the lead-in is a clause."""
    while True:
        m = re.match(r"\s*([\w'’.+-]+)\s*", question[start:end])  # a whole word: "In-BoXBART" is no "In"
        if not m or _inside(start + m.end(1), keep) or any(a == start + m.start(1) for a, _ in keep):
            break
        word = m.group(1).lower()
        after = re.match(r"\s*the\s+([\w'’]+)", question[start:end], re.IGNORECASE)
        if word in _LEAD_WORDS or (word == "the" and after and after.group(1).lower() in _LEAD_WORDS):
            start += m.end()
        else:
            break
    text = question[start:end]
    clause = bool(_CLAUSE.search(text))  # before the tail goes: "X does Y" is a statement about X, not a name
    # A description ("the paper that uses X as a prior for Y", "the MCMC-EM approach to ...") keeps its verbs and
    # prepositions; only a phrase that starts the question proper ends it.
    tails = (_PHRASE_TAIL,) if _DESCRIPTION.search(text) else (_TAIL, _PREPOSITION_TAIL)
    for tail in tails:
        m = tail.search(text)
        while m and _inside(start + m.start() + 1, keep):
            m = tail.search(text, m.end())
        if m and m.start() > 0:
            text = text[: m.start()]
    end = start + len(text.rstrip(" ?.!:\"'“”’"))
    while start < end and question[start] in "\"'“”‘’(":
        start += 1
    return start, end, clause


def pieces(question: str, keep: Sequence[tuple[int, int]] = ()) -> list[Piece]:
    """The question cut at its separators (outside `keep`), each piece with its lead-in and tail words removed.
    When the part before a colon holds two or more pieces, the part after it is the question about them."""
    head = question.split("?", 1)[0]
    colon = next((m.start() for m in re.finditer(r":", head) if not _inside(m.start(), keep)), None)
    if colon is not None and len(_cuts(head[:colon], keep)) >= 1:
        head = head[:colon]
    bounds, last, sentence = [], 0, True  # sentence: the piece starts a sentence
    for a, b in _cuts(head, keep):
        bounds.append((last, a, sentence))
        last, sentence = b, bool((m := _SENTENCE_END.match(head, a)) and m.end() == b)
    bounds.append((last, len(head), sentence))
    out = []
    for raw_start, raw_end, sentence in bounds:
        start, end, clause = _strip(question, raw_start, raw_end, keep)
        if end <= start:
            continue
        text = question[start:end]
        # "..., how is it evaluated" is a clause; a sentence of its own may start with "How does".
        clause = clause or (not sentence and bool(_STARTS_CLAUSE.match(question[raw_start:])))
        out.append(Piece(start, end, text, referring=not clause and bool(re.search(r"\w", text))))
    return out
