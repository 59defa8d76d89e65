"""Builds eval/generated.jsonl: questions written from the corpus itself, so their gold papers are known by
construction and nobody can have tuned the product to them.

    python eval/generate.py [--seed 7] [--out eval/generated.jsonl]

Factual questions ask about one paper, comparisons about a random pair or triple; each paper is referred to by
its name (a title prefix before a colon, or an acronym the paper defines in parentheses) when that name belongs
to it alone, otherwise by words of its title. The name rules here are deliberately the script's own, not the
product's (`assistant.search.keyword.names_in`), so the set does not just mirror what the retriever looks for.
It writes no answer keywords: these questions score retrieval, question kinds and citations, not wording.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.ingest.corpus import read_paths
from assistant.resources import corpus_dir
from assistant.types import Paper

SEED = 7
OUT = Path(__file__).resolve().parent / "generated.jsonl"
N_FACTUAL, N_PAIRS, N_TRIPLES = 100, 200, 50
DESCRIPTION_WORDS = 8  # "the paper on <this many title words>", more when needed to tell papers apart
COMMON_TERM = 2  # an abstract's acronym that this many other abstracts use is not the paper's own name
TASK_WORDS = 8  # "<a> or <b> for <at most this many words of a's subtitle>?"

_VERSION = re.compile(r"^v?\d+(?:\.\d+)*$")  # "2", "3.0": the second word of "ERNIE 3.0"
_TOKEN = re.compile(r"^[^\W_][\w.+\-]*$")  # one word, hyphens and dots allowed ("B-PROP", "Qwen2.5-Math")
_PAREN = re.compile(r"\(([A-Za-z][A-Za-z0-9\-]{1,15})\)")
_WORD = re.compile(r"[A-Za-z0-9]+")
_CONTRIBUTION = re.compile(r"\b(?:we|this paper|this work)\b.*\b(?:propose|introduce|present|call|name|dub|term)",
                           re.IGNORECASE)


@dataclass(frozen=True)
class Ref:
    """How the questions refer to one paper."""

    paper: Paper
    name: str | None  # the paper's own name, when it has an unambiguous one
    description: str  # "the paper on ..." (always available)
    task: str  # lower-case words of what the paper is about, for "... for <task>?"

    @property
    def text(self) -> str:
        return self.name or self.description


# -- names ----------------------------------------------------------------------------------------------------


def _looks_like_name(prefix: str) -> bool:
    """A title prefix is a name when it is one word, or one word and a version ("ERNIE 3.0", "TÜLU 3")."""
    words = prefix.split()
    if len(words) == 2 and _VERSION.match(words[1]):
        words = words[:1]
    return len(words) == 1 and bool(_TOKEN.match(words[0])) and len(words[0]) >= 2


def _is_acronym(word: str) -> bool:
    return sum(c.isupper() for c in word) >= 2 or (any(c.isdigit() for c in word) and any(c.isupper() for c in word))


def _initials(words: Sequence[str]) -> str:
    # "Low-Rank Adaptation" -> "lra": each hyphenated part contributes its first letter.
    return "".join(part[0] for w in words for part in w.split("-") if part).lower()


def _defines(before: str, acronym: str) -> bool:
    """True when the words just before "(ACRONYM)" spell it: its capitals are, in order, the initials of the
    last few words ("Reinforced Fine-Tuning (ReFT)"), skipping at most two small words ("of", "the")."""
    letters = [c.lower() for c in acronym if c.isalpha() and c.isupper()]
    initials = _initials(before.split()[-(len(letters) + 2):])
    if not letters or not initials or initials[-1] != letters[-1]:
        return False
    for start in range(len(initials)):
        it = iter(initials[start:])
        if initials[start] == letters[0] and all(letter in it for letter in letters):
            return True
    return False


def own_names(paper: Paper) -> dict[str, int]:
    """Names a paper gives itself -> priority (0 first): a one-word title prefix before ':' (0), an acronym in
    parentheses in the title (1), an acronym of 3+ characters the abstract defines in a sentence where the
    authors introduce their work (2). Plurals ("LLMs") name a kind of thing, not a paper, and are skipped."""
    names: dict[str, int] = {}
    for sentence in re.split(r"(?<=[.!?])\s+", paper.abstract):
        if _CONTRIBUTION.search(sentence):
            for m in _PAREN.finditer(sentence):
                word = m.group(1)
                if len(word) >= 3 and not word.endswith("s") and _is_acronym(word) \
                        and _defines(sentence[: m.start()], word):
                    names[word] = 2
    names |= {m.group(1): 1 for m in _PAREN.finditer(paper.title) if _is_acronym(m.group(1))}
    if ": " in paper.title and _looks_like_name(prefix := paper.title.split(": ", 1)[0].strip()):
        names[prefix] = 0
    return names


def _key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _uses(name: str, text: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE) is not None


def unambiguous_names(papers: Sequence[Paper]) -> dict[str, str]:
    """paper_id -> the name to use. A name given by two papers, or standing as a word in another paper's title
    ("YuLan" beside "YuLan-Mini"), is skipped: a question using it would not say which paper it means."""
    names = {p.paper_id: own_names(p) for p in papers}
    owners = Counter(key for ns in names.values() for key in {_key(n) for n in ns})
    chosen: dict[str, str] = {}
    for paper in papers:
        others = [q for q in papers if q.paper_id != paper.paper_id]
        for name, priority in sorted(names[paper.paper_id].items(), key=lambda item: (item[1], item[0])):
            if len(_key(name)) < 2 or owners[_key(name)] > 1 or any(_uses(name, q.title) for q in others):
                continue
            # An acronym found only in the abstract that other abstracts use too is a field's term ("CoT").
            if priority == 2 and sum(_uses(name, q.abstract) for q in others) >= COMMON_TERM:
                continue
            chosen[paper.paper_id] = name
            break
    return chosen


# -- descriptions ----------------------------------------------------------------------------------------------


_SMALL = {"a", "an", "the", "of", "on", "in", "for", "to", "and", "or", "with", "via", "by", "from", "as", "at"}


def _phrase(text: str, limit: int) -> str:
    """At most `limit` lower-case words of a title: its main clause (before ':' or '?') when that has 4 or more
    words, without a trailing small word ("... a case study on" -> "... a case study")."""
    head = re.split(r"[:?]\s", text, maxsplit=1)[0]
    words = (head if len(head.split()) >= 4 else text.replace(":", "").replace("?", "")).lower().split()[:limit]
    while len(words) > 1 and words[-1].strip(",;") in _SMALL:
        words.pop()
    return " ".join(words).strip(",;.")


def descriptions(papers: Sequence[Paper]) -> dict[str, str]:
    """paper_id -> "the paper on <title words>", as few words as keep it unique among the papers."""
    full = {p.paper_id: _phrase(p.title, 100) for p in papers}
    out: dict[str, str] = {}
    for paper in papers:
        for limit in range(DESCRIPTION_WORDS, 100):
            phrase = _phrase(paper.title, limit)
            if not any(pid != paper.paper_id and other.startswith(phrase) for pid, other in full.items()):
                break
        out[paper.paper_id] = f"the paper on {phrase}"
    return out


def task(paper: Paper, name: str | None) -> str:
    """What the paper is about in its own words: the subtitle after a name, else the title."""
    text = paper.title.split(": ", 1)[1] if name and paper.title.startswith(f"{name}: ") else paper.title
    words = _phrase(text, TASK_WORDS).split()
    if words and words[0] in ("towards", "toward", "on"):
        words = words[1:]
    return " ".join(words)


def fragment(paper: Paper, papers: Sequence[Paper]) -> str:
    """A quotable piece of the title that starts no other title: the part before a colon when it has 3 or more
    words, else the shortest prefix of 5 or more words that does not end on a small word ("... with")."""
    others = [q.title.lower() for q in papers if q.paper_id != paper.paper_id]

    def unique(prefix: str) -> bool:
        return not any(o.startswith(prefix.lower()) for o in others)

    head = paper.title.split(": ", 1)[0]
    if head != paper.title and len(head.split()) >= 3 and unique(head):
        return head
    words = paper.title.split()
    for n in range(min(5, len(words)), len(words)):
        prefix = " ".join(words[:n]).rstrip(":,;?")
        if words[n - 1].lower().strip(":,;?") not in _SMALL and unique(prefix):
            return prefix
    return paper.title


def refs(papers: Sequence[Paper]) -> list[Ref]:
    names = unambiguous_names(papers)
    described = descriptions(papers)
    return [Ref(p, names.get(p.paper_id), described[p.paper_id], task(p, names.get(p.paper_id))) for p in papers]


# -- questions -------------------------------------------------------------------------------------------------

NAMED_FACTUAL = ("What does {a} do?", "What problem does {a} address?", "What is {a}?",
                 "Summarise the main contribution of {a}.", "how does {a} work")
UNNAMED_FACTUAL = ("What is the paper '{f}' about?", "What did {a} find?", "What does {a} propose?")
PAIR = (
    "Compare {a} and {b}.",
    "How does {a} differ from {b}?",
    "{a} vs. {b}: which is better suited to {t}?",
    "What do {a} and {b} have in common?",
    "{a} or {b} for {t}?",
    "What are the differences between {a} and {b}?",
    "differences between {a} and {b}",  # typed the way people type into a search box
    "compare {a} with {b}",
    "Contrast the approaches of {a} and {b}.",
    "how do {a} and {b} compare?",
)
TRIPLE = (
    "How do {a}, {b} and {c} each approach their problem?",
    "{a} vs. {b} vs. {c}",
    "Compare {a}, {b}, and {c}.",
    "what are the main differences between {a}, {b} and {c}?",
    "What do {a}, {b} and {c} have in common, and where do they differ?",
)
LOWER = {"differences between {a} and {b}", "how do {a} and {b} compare?", "{a} vs. {b} vs. {c}"}


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _render(template: str, items: Sequence[Ref]) -> str:
    values = {"a": items[0].text, "b": items[1].text, "t": items[0].task}
    if len(items) > 2:
        values["c"] = items[2].text
    text = template.format(**values)
    if template in LOWER:
        return text.lower()
    return _capitalise(text) if template[0].isupper() else text


def factual(rng: random.Random, all_refs: Sequence[Ref], papers: Sequence[Paper]) -> list[dict[str, object]]:
    out = []
    for i, ref in enumerate(rng.sample(list(all_refs), N_FACTUAL)):
        if ref.name:
            question = NAMED_FACTUAL[i % len(NAMED_FACTUAL)].format(a=ref.name)
        else:
            template = UNNAMED_FACTUAL[i % len(UNNAMED_FACTUAL)]
            question = template.format(a=ref.description, f=fragment(ref.paper, papers))
        out.append({"type": "factual", "question": _capitalise(question) if question[0] != "h" else question,
                    "gold_titles": [ref.paper.title]})
    return out


def _combinations(rng: random.Random, items: Sequence[Ref], size: int, count: int) -> list[list[Ref]]:
    """`count` distinct random sets of `size` papers, each in the random order it was drawn."""
    seen: set[frozenset[str]] = set()
    out: list[list[Ref]] = []
    while len(out) < count:
        pick = rng.sample(list(items), size)
        key = frozenset(r.paper.paper_id for r in pick)
        if key not in seen:
            seen.add(key)
            out.append(pick)
    return out


def comparisons(rng: random.Random, all_refs: Sequence[Ref]) -> list[dict[str, object]]:
    out = []
    for i, pair in enumerate(_combinations(rng, all_refs, 2, N_PAIRS)):
        template = PAIR[i % len(PAIR)]
        if "{t}" in template:
            # The task words come from a named paper: after "the paper on <title>" they would repeat the title.
            pair.sort(key=lambda r: r.name is None)
            if pair[0].name is None:
                template = PAIR[0]
        out.append({"type": "comparison", "question": _render(template, pair),
                    "gold_titles": [r.paper.title for r in pair]})
    for i, triple in enumerate(_combinations(rng, all_refs, 3, N_TRIPLES)):
        out.append({"type": "comparison", "question": _render(TRIPLE[i % len(TRIPLE)], triple),
                    "gold_titles": [r.paper.title for r in triple]})
    return out


def generate(seed: int = SEED) -> list[dict[str, object]]:
    """The questions, ids g0001..., the same for the same seed and corpus."""
    papers = sorted(read_paths([corpus_dir()]).papers, key=lambda p: p.paper_id)
    rng = random.Random(seed)
    all_refs = refs(papers)
    questions = factual(rng, all_refs, papers) + comparisons(rng, all_refs)
    return [{"id": f"g{i:04d}", "type": q["type"], "question": q["question"], "gold_titles": q["gold_titles"],
             "answer_keywords": []} for i, q in enumerate(questions, 1)]


def render(questions: Sequence[dict[str, object]]) -> str:
    return "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in questions)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    parser.add_argument("--out", type=Path, default=OUT, help="output file (default eval/generated.jsonl)")
    args = parser.parse_args(argv)
    questions = generate(args.seed)
    args.out.write_text(render(questions), encoding="utf-8")
    kinds = Counter(str(q["type"]) for q in questions)
    print(f"{args.out}: {len(questions)} questions ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))})")


if __name__ == "__main__":
    main()
