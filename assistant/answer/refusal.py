"""When an answer must be the fixed refusal: before the model is asked (the question tells it to leave the sources
aside, quotes or names a paper the collection lacks, takes for granted a figure no source states, or asks for a
detail no source mentions) and after
(the checked answer rests on nothing, or misstates a figure).

Word matching over the sources only, no model. Whether any source is relevant at all (the similarity threshold)
is the pipeline's; what a claim's support is, `citations`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from assistant.answer.citations import Checked, figure_directions
from assistant.text import content_words, fold
from assistant.types import Source

# A quoted title ('Attention Is All You Need'): at least three words, most of them capitalised.
_QUOTED = re.compile(r"(?:^|(?<=[\s(:]))[\"“'‘]([^\"“”‘’]{8,200}?)[\"”'’](?![A-Za-z])")
TITLE_WORDS_FOUND = 0.8  # share of a quoted title's content words a source's title must hold to be that paper
# The detail a question asks for is the phrase after its (sentence-opening) wh-word: "How many GPUs were ...",
# "What license is ...", "Which GPU vendor sponsored ...". These end the phrase; a main verb right after it is
# dropped.
_WH = re.compile(r"(?:^|[.?!]\s+)(?:how\s+(?:many|much)|what|which|who|whom|whose)\s+(.+)$", re.I)
_PHRASE_END = frozenset("""is are was were do does did has have had can could will would should of for in on to by
    from with at about and or the a an that this these those it its they their paper make makes use uses used give
    gives take takes get gets add adds need needs help helps allow allows""".split())
_LEADING = frozenset({"is", "are", "was", "were", "the", "a", "an"})
PHRASE_WORDS = 4
# Words that ask for what a paper says, not for a detail it may leave out: the abstract itself answers them.
GENERIC = frozenset(content_words("""problem problems contribution contributions idea ideas goal goals aim aims
    purpose one ones thing things part parts way ways kind kinds type types task tasks method methods approach
    approaches technique techniques result results finding findings benefit benefits advantage advantages
    limitation limitations challenge challenges issue issues role difference differences main key new model
    models work"""))


# An instruction to answer from something other than the sources: "ignore the sources", "forget the papers you
# have", "disregard the abstracts above", "from your own knowledge", "from memory", "without the sources". The
# answer can only come from the sources, so such a question gets the refusal (with the closest papers), never a
# reply from the model's memory. Instructions about the rules ("ignore previous instructions") are not this: the
# prompt keeps the question as data and the checks refuse what it makes the model say.
_ASIDE_OBJECT = r"(?:sources?|abstracts?|papers?|collection|context|documents?|library|corpus|retrieved\s+\w+)"
_IMPERATIVE = r"(?:^|[.!?;:,]\s*|\b(?:and|then|please|just|now)\s+)(?:please\s+|just\s+)?"  # said to the assistant
_ANSWER_VERB = r"\b(?:answer|respond|reply|tell\s+me|say|write|explain|summari[sz]e|describe|list|give)\b[^.?!]{0,40}?"
_SOURCES_ASIDE = re.compile(
    rf"{_IMPERATIVE}(?:ignore|disregard|forget|set\s+aside|leave\s+aside|put\s+aside|skip)\s+"
    rf"(?:(?:all|any|the|your|these|those|this|my)\s+){{0,2}}(?:\w+\s+){{0,2}}?{_ASIDE_OBJECT}\b|"
    rf"\bfrom\s+your\s+(?:own\s+)?(?:memory|general\s+knowledge|knowledge|training(?:\s+data)?)\b|"
    rf"{_ANSWER_VERB}\bfrom\s+(?:own\s+)?(?:memory|general\s+knowledge)\b|"
    rf"{_ANSWER_VERB}\b(?:without|instead\s+of)\s+(?:using\s+|looking\s+at\s+|reading\s+|citing\s+)?"
    rf"(?:the\s+|any\s+|your\s+)?(?:sources?|abstracts?|papers|collection|documents|library)\b",
    re.IGNORECASE | re.MULTILINE,
)


def sets_sources_aside(question: str) -> bool:
    """The question tells the assistant to answer from anything but the sources ("Ignore the sources and ...",
    "... from your own knowledge", "without sources")."""
    return bool(_SOURCES_ASIDE.search(question))


def missing_title(question: str, sources: list[Source]) -> bool:
    """The question quotes a paper title that none of the sources has: that paper is not in the collection."""
    for quoted in _QUOTED.findall(question):
        words = quoted.split()
        if len(words) < 3 or sum(w[:1].isupper() for w in words) < 0.6 * len(words):
            continue  # a quoted phrase or term, not a title
        wanted = content_words(quoted)
        if wanted and not any(len(wanted & content_words(s.title)) >= TITLE_WORDS_FOUND * len(wanted)
                              for s in sources):
            return True
    return False


# "the AlphaFold 2 paper", "DeepMind's Chinchilla paper", "the original LoRA paper": a paper named by the name
# it is known by. A name is a word holding a capital after its first letter or a digit ("LoRA", "GPT-3"), or a
# capitalised word, optionally followed by a version number.
_NAMED_PAPER = re.compile(r"(?<![\w-])((?:[A-Z][\w\-.]*|[a-z]+[A-Z][\w\-.]*)(?:\s+\d+(?:\.\d+)?)?)\s+paper\b")
_NOT_NAMES = frozenset({"this", "that", "the", "a", "an", "which", "what", "each", "every", "one", "first", "same",
                        "original", "other", "second", "third", "last", "previous", "above", "following"})


# "the original LoRA paper", "the paper that introduced LoRA": the paper that made the name, not one using it.
_ORIGIN = re.compile(r"\b(?:original|first|seminal|initial)\s+$", re.I)
_INTRODUCING = re.compile(r"\bpaper\s+(?:that|which)\s+(?:first\s+)?(?:introduced|proposed|presented)\s+"
                          r"((?:[A-Z][\w\-.]*|[a-z]+[A-Z][\w\-.]*)(?:\s+\d+(?:\.\d+)?)?)")


def named_papers(question: str) -> list[tuple[str, bool]]:
    """The names a question calls papers by, each with whether it asks for the paper that introduced the name
    ("the AlphaFold 2 paper" -> [("AlphaFold 2", False)], "the original LoRA paper" -> [("LoRA", True)])."""
    found = [(m.group(1), bool(_ORIGIN.search(question[: m.start()])))
             for m in _NAMED_PAPER.finditer(question) if m.group(1).lower() not in _NOT_NAMES]
    return found + [(m.group(1), True) for m in _INTRODUCING.finditer(question)]


def absent_paper(question: str, is_known: Callable[[str], bool], introduces: Callable[[str], bool]) -> bool:
    """The question asks about a paper by a name that no paper of the collection has (`is_known` tells, from the
    collection's names and titles), or asks for the paper that introduced a name and no paper here introduces it
    (`introduces`: a paper using "LoRA" in its title is not the LoRA paper). That paper is not here, whatever the
    sources nearest to its words say."""
    return any(not (introduces if original else is_known)(name) for name, original in named_papers(question))


# A word written like a name: a capital after its first letter ("ExeCAD", "AlphaFold", "HELM").
_NAME_SHAPED = re.compile(r"\b[A-Za-z][A-Za-z0-9]*[A-Z][A-Za-z0-9]*\b")
MIN_NAME_CHARS = 4  # shorter ones ("GPT", "QA") are too often parts of a longer name written apart


def unknown_names(question: str, is_word: Callable[[str], bool]) -> list[str]:
    """The name-like words of the question that no title or abstract of the collection uses, even one spelling
    edit away (`is_word` tells, from the collection's words): a question about a dataset, model or paper the
    collection never mentions cannot be answered from it."""
    return [w for w in _NAME_SHAPED.findall(fold(question)) if len(w) >= MIN_NAME_CHARS and not is_word(w.lower())]


# A figure a question takes for granted: "by 20%", "5 %", "3x", "2×", "40 percent", "a 10-fold", "tenfold".
_FIGURE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(%|percent\b|x\b|×|-?\s?fold\b)", re.I)
_VERB = r"\s+(?:the|its|their|our|his|her)\b"  # "double the cost": a verb where a determiner follows
# Multipliers said in words, as verbs or "twice as/the": "doubles the throughput", "does X double the cost".
# Not adjectives ("double descent", "a double-blind study") and not actions a question proposes ("doubling the
# batch size"), which state no result.
_WORD_FIGURES = (
    (re.compile(rf"\b(?:doubles|doubled|double{_VERB})\b|\btwice\s+(?:as|the)\b", re.I), 2.0),
    (re.compile(rf"\b(?:triples|tripled|triple{_VERB})\b|\bthrice\b", re.I), 3.0),
    (re.compile(rf"\b(?:quadruples|quadrupled|quadruple{_VERB})\b", re.I), 4.0),
    *((re.compile(rf"\b{word}-?fold\b", re.I), value)
      for word, value in (("two", 2.0), ("three", 3.0), ("four", 4.0), ("five", 5.0), ("ten", 10.0),
                          ("hundred", 100.0))),
)


def figures_in(text: str) -> set[str]:
    """Percentages and multipliers in a text, normalised: "20 %" and "20 percent" are "20%"; "3 x", "3-fold",
    "threefold" and "triples" are "3x"."""
    found = {f"{float(n):g}{'%' if unit.lower() in ('%', 'percent') else 'x'}" for n, unit in _FIGURE.findall(text)}
    return found | {f"{value:g}x" for pattern, value in _WORD_FIGURES if pattern.search(text)}


PREMISE_WINDOW = 8  # words either side of a figure that say what it measures and which way it changed


def _near(text: str, figure: str) -> set[str]:
    """The content words within PREMISE_WINDOW words of the figure in `text` (what the figure measures)."""
    tokens = re.findall(r"[\w.,%×]+", text)
    near: set[str] = set()
    for i, token in enumerate(tokens):
        if figures_in(" ".join(tokens[i:i + 2])) & {figure} and re.match(r"\d", token):
            near |= content_words(" ".join(tokens[max(0, i - PREMISE_WINDOW): i + PREMISE_WINDOW + 1]))
    return {w for w in near if not re.fullmatch(r"[\d.,%×x]+", w)}


def unstated_figure(question: str, abstracts: list[str]) -> bool:
    """The question takes for granted a percentage or a multiplier that no source states ("Why does X cut memory
    by 20%?"), or that a source states about the same quantity changing the other way ("increase memory by 20%"
    where the abstract says "saving memory ... by over 20%"): its premise is not in the abstracts, and an answer
    would have to accept it unchecked."""
    for figure in figures_in(question):
        holding = [a for a in abstracts if figure in figures_in(a)]
        if not holding:
            return True
        value = float(figure[:-1])
        asked = figure_directions(question, value, PREMISE_WINDOW)
        measured = _near(question, figure) - {"compar", "compared"}
        for text in holding:
            said = figure_directions(text, value, PREMISE_WINDOW)
            if asked and said and not asked & said and measured & _near(text, figure):
                return True
    return False


def asked_detail(question: str) -> set[str]:
    """The content words of the detail a question asks for ("How many GPUs were used ..." -> {"gpus"}), without
    words any abstract answers ("What problem does ..."); empty when it asks for nothing in particular."""
    asked = _WH.search(question)
    if asked is None:
        return set()
    words = re.findall(r"[\w\-.]+|[\"'“‘]", asked.group(1))
    while words and words[0].lower() in _LEADING:
        words = words[1:]
    phrase: list[str] = []
    for word in words[:PHRASE_WORDS]:
        if word.lower() in _PHRASE_END or word in "\"'“‘":
            break
        phrase.append(word)
    rest = words[len(phrase):]
    # "Which GPU vendor sponsored the ...": the subject's verb ends the phrase.
    if len(phrase) > 1 and re.search(r"(?:ed|es)$", phrase[-1]) and (not rest or rest[0].lower() in _LEADING):
        phrase = phrase[:-1]
    return content_words(" ".join(phrase)) - GENERIC


def absent_detail(question: str, abstracts: list[str]) -> bool:
    """No source states every word of the detail the question asks for (authors, a licence, a batch size ...):
    the abstracts do not give it, whatever the model would make up."""
    wanted = asked_detail(question)
    return bool(wanted) and not any(wanted <= content_words(text) for text in abstracts)


def must_refuse(checked: Checked) -> bool:
    """Whether a checked answer must be replaced by the refusal: the model says it cannot answer (and supports
    next to nothing), or nothing in it cites a source, or none of its claims is supported (an answer from memory,
    or one that obeyed an injected instruction), or it misstates a figure: one its own source does not state (a
    detail no abstract gives, answered anyway) or states the other way round (a false premise repeated). A true
    sentence next to such a figure does not make the answer one."""
    says_no = checked.says_refusal and len(checked.unsupported) >= checked.claims - 1
    unfounded = checked.claims > 0 and len(checked.unsupported) >= checked.claims
    return says_no or unfounded or not checked.citations or not checked.text or checked.misstated_figures > 0
