"""[n] markers -> citations checked against the numbered sources.

A sentence (or table cell) cites only the sources that support it, deterministically, by word overlap:
- the model's markers are parsed ([n], [n, m], [n-m]); markers pointing at no source are dropped and counted;
- a marker whose source does not support the sentence is dropped; when no marker supports it and one source
  clearly does, the marker moves to that source; so does a marker whose source holds only part of a sentence
  that another source states plainly (a small model misnumbers markers); an uncited sentence gets the source that
  clearly supports it;
- a second source is added only when the sentence names it or the first alone does not hold the sentence, so an
  answer about one paper does not cite its neighbours;
- a claim's numbers must be stated by the source(s) it cites, never merely by some other source (a small model
  invents scores and percentages);
- a table cell is checked against its column's source, and a cell that only repeats the title claims nothing;
- when the question is about one named paper, a sentence about another one (neither supported by that paper's
  source nor naming it) is left out;
- each citation keeps its evidence: the sentences of its source that hold the claims citing it (`evidence_for`:
  the fewest sentences that cover the claim's words and numbers, by the same word overlap).
A sentence nothing supports keeps no marker and is listed as unsupported; one that shares next to no words with
any source is also left out of the text. Deciding what to do with such an answer (refuse, note) is the pipeline's
job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.search.keyword import names_in, query_names
from assistant.text import content_words, split_sentences
from assistant.types import REFUSAL, Citation, Source

MARKER = re.compile(r"\s?\[(\d+(?:\s*(?:[,;–-]|and)\s*\d+)*)\]")
ATTRIBUTE_AT = 0.5  # share of a sentence's content words a source must hold to earn a marker the model did not give
PAIR_PART_AT = 0.2  # share each of two sources must hold to share one claim neither holds alone ...
PAIR_GAIN = 0.15  # ... and how much more of it the second adds
SUPPORTED_AT = 0.34  # share the cited source must hold for the model's own citation to count as supported
MISNUMBERED_GAIN = 0.3  # how much better an uncited source must state a claim to overrule the model's marker
MIN_CLAIM_WORDS = 3  # shorter units (headings, "In summary:") are not claims
MAX_CITED = 4  # a sentence naming more papers than this is a list, not a claim about each
MAX_EVIDENCE = 3  # sentences of one source kept as the evidence of one claim
EVIDENCE_GAIN = 0.2  # share of the claim's words a further evidence sentence must add to be kept
NOT_STATED = "–"  # what a table cell that claims nothing shows
# A number standing alone: "30.0", "20%", "1,000", not the digits inside names like GPT-4, GSM8K or 7B.
_NUMBER = re.compile(r"(?<![\w.\-])\d{1,3}(?:,\d{3})+(?![\w])|(?<![\w.\-])\d+(?:\.\d+)?(?![\w]|\.\d)")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\d+(?:\s*(?:[,;–-]|and)\s*\d+)*\])+\s*")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
DIRECTION_WINDOW = 5  # words either side of a number whose change verbs are about it
_UP = re.compile(r"\b(?:increas(?:e|es|ed|ing)|rais(?:e|es|ed|ing)|boost(?:s|ed|ing)?|improv(?:e|es|ed|ing|ements?)|"
                 r"gain(?:s|ed)?|ris(?:e|es|ing)|rose|doubl(?:e|es|ed|ing)|grow(?:s|ing)?|grew)\b")
_DOWN = re.compile(r"\b(?:decreas(?:e|es|ed|ing)|reduc(?:e|es|ed|ing|tion)|lower(?:s|ed|ing)|sav(?:e|es|ed|ing|ings)|"
                   r"cut(?:s|ting)?|drop(?:s|ped|ping)?|declin(?:e|es|ed|ing)|shrink(?:s|ing)?|degrad(?:e|es|ed|ing)|"
                   r"hurt(?:s|ing)?)\b"
                   # bare "lower" is a change where it takes "by": "lower accuracy by 5%", "lower by 2 points"
                   r"|\blower(?:\s+\S+){0,3}\s+by\b")
# Where a contrast between two papers turns from one to the other.
_CONTRAST = re.compile(r",?\s+(?:whereas|while|but|unlike|in contrast|on the other hand)\b,?\s*", re.I)
_NEGATION = re.compile(r"\b(?:not|no|never|neither|nor|none|nothing|without|cannot|lacks?|fails? to)\b|n't\b")
_REFUSAL_HINTS = (
    REFUSAL.lower().rstrip("."),
    "do not contain the answer",
    "does not contain the answer",
    "do not contain information",
    "does not contain information",
    "cannot answer",
    "can't answer",
)


def parse_marker(body: str) -> list[int]:
    """'1, 3-5' -> [1, 3, 4, 5] (ranges capped at 50 numbers)."""
    out: list[int] = []
    for part in re.split(r"\s*(?:[,;]|and)\s*", body):
        if m := re.fullmatch(r"(\d+)\s*[–-]\s*(\d+)", part):
            lo, hi = int(m.group(1)), int(m.group(2))
            out.extend(range(lo, min(hi, lo + 49) + 1) if hi >= lo else [lo, hi])
        elif part.isdigit():
            out.append(int(part))
    return out


@dataclass
class Checked:
    text: str
    citations: list[Citation]
    invalid_markers: int = 0
    unsupported: list[str] = field(default_factory=list)
    claims: int = 0  # sentences and cells that make a claim
    says_refusal: bool = False
    misstated_figures: int = 0  # unsupported claims with a figure their sources do not state, or state reversed
    off_topic: list[str] = field(default_factory=list)  # claims about another paper than the question's, left out


def numbers_in(text: str) -> set[float]:
    """The stand-alone numbers of a text as values, so "30" and "30.0" or "1,000" and "1000" match."""
    return {float(m.group().replace(",", "")) for m in _NUMBER.finditer(MARKER.sub("", text))}


def _is_table_rule(line: str) -> bool:
    return bool(re.fullmatch(r"\|?[\s:|-]+\|?", line)) and "-" in line


def _append_markers(sentence: str, markers: str) -> str:
    """Put markers before the sentence's final punctuation: "claim [1]." """
    if not markers:
        return sentence
    m = re.search(r"([.!?:;]+[\"')]*)$", sentence)
    if m:
        return f"{sentence[: m.start()].rstrip()} {markers}{m.group(1)}"
    return f"{sentence.rstrip()} {markers}"


def _markers(nums: list[int]) -> str:
    return "".join(f"[{n}]" for n in dict.fromkeys(nums))


def check(text: str, sources: list[Source], focus: int | None = None) -> Checked:
    """The checked answer. `focus`: the source of the one paper the question is about, when it names one; a
    sentence neither supported by it nor naming it is about a neighbour and is left out."""
    ctx = _Context(sources, focus)
    out_lines: list[str] = []
    for line in text.strip().splitlines():
        stripped = line.strip()
        if not stripped.startswith("|"):
            ctx.columns = None  # a table ends at the first line that is not a row
        if not stripped:
            out_lines.append("")
        elif stripped.startswith("|"):
            row = ctx.table_row(stripped)
            if row is not None:
                out_lines.append(row)
        else:
            out_lines.append(" ".join(ctx.prose(split_sentences(stripped))))
    ctx.result.text = re.sub(r"\n{3,}", "\n\n", "\n".join(out_lines)).strip()
    by_n = ctx.by_n
    ctx.result.citations = [
        Citation(n=n, paper_id=by_n[n].paper_id, title=by_n[n].title, url=by_n[n].url, supported=True,
                 evidence=ctx.evidence_of(n))
        for n in ctx.order
    ]
    return ctx.result


def source_sentences(text: str) -> list[str]:
    """A source's sentences as the panel shows them: a compacted source marks left-out sentences with "…"."""
    return [s for part in text.split("…") for s in split_sentences(part.strip())]


def evidence_for(claim: str, text: str) -> list[str]:
    """The sentences of `text` that hold `claim`, in the text's order: greedily the sentence holding most of the
    claim's words (and numbers) still uncovered, while it adds at least EVIDENCE_GAIN of them (and one word), at
    most MAX_EVIDENCE; [] when no sentence holds that much. A claim of several sentences gets each one's evidence.
    Deterministic: no model picks a quote."""
    parts = source_sentences(MARKER.sub("", claim))
    if len(parts) > 1:  # a claim of several sentences ("A. … B."): each its own evidence, so none is drowned out
        found = {s for part in parts for s in evidence_for(part, text)}
        return [s for s in dict.fromkeys(source_sentences(text)) if s in found]
    words = content_words(MARKER.sub("", claim)) | {str(v) for v in numbers_in(claim)}
    sentences = source_sentences(text)
    bags = [content_words(s) | {str(v) for v in numbers_in(s)} for s in sentences]
    chosen: list[int] = []
    left = set(words)
    while left and len(chosen) < MAX_EVIDENCE:
        best = max((i for i in range(len(bags)) if i not in chosen), key=lambda i: (len(left & bags[i]), -i),
                   default=None)
        if best is None or len(left & bags[best]) < max(1.0, EVIDENCE_GAIN * len(words)):
            break
        chosen.append(best)
        left -= bags[best]
    return [sentences[i] for i in sorted(chosen)]


class _Context:
    """State of one check: each source's words, numbers and names; cited numbers in order of first use."""

    def __init__(self, sources: list[Source], focus: int | None = None) -> None:
        self.by_n = {s.n: s for s in sources}
        self.focus = focus if focus in self.by_n else None
        self.words = {s.n: content_words(f"{s.title} {s.text}") for s in sources}
        self.sentences = {s.n: [content_words(x) for x in [s.title, *split_sentences(s.text)]] for s in sources}
        self.numbers = {s.n: numbers_in(f"{s.title} {s.text}") for s in sources}
        self.names = _distinct_names(sources)
        self.title_words = {s.n: content_words(s.title) for s in sources}
        self.order: list[int] = []  # cited numbers, first appearance first
        self.columns: dict[int, int] | None = None  # in a table: column -> the source its header cites
        self.previous: list[int] = []  # the sources of the last supported claim: a paragraph's subject carries on
        self.result = Checked(text="", citations=[])
        self.evidence: dict[int, list[str]] = {}  # source -> its sentences that hold the claims citing it

    def evidence_of(self, n: int) -> list[str]:
        """Source n's evidence sentences in the order its text gives them."""
        found = set(self.evidence.get(n, []))
        return [s for s in dict.fromkeys(source_sentences(self.by_n[n].text)) if s in found]

    # -- support ---------------------------------------------------------------------------------------

    def _share(self, words: set[str], nums: list[int]) -> float:
        """Share of the claim's words the sources `nums` hold together."""
        held = set().union(*(self.words[n] for n in nums)) if nums else set()
        return len(words & held) / len(words) if words else 0.0

    def _score(self, words: set[str], n: int) -> float:
        """How well source n alone states a claim: its best sentence, or (a little less) its words anywhere."""
        best = max((len(words & s) / len(words) for s in self.sentences[n]), default=0.0) if words else 0.0
        return max(best, 0.85 * self._share(words, [n]))

    def _states_numbers(self, claim: str, nums: list[int]) -> bool:
        return numbers_in(claim) <= set().union(*(self.numbers[n] for n in nums))

    def named(self, claim: str) -> list[int]:
        """Sources whose method name ("LeTI", "B-PROP") the claim uses."""
        said = query_names(claim)
        return [n for n, names in self.names.items() if names & said]

    def support(self, claim: str, cited: list[int], allowed: list[int] | None = None) -> list[int]:
        """The sources that support a claim, best first, or [] when none does. `cited`: the model's markers;
        `allowed`: the only sources it may cite (a table cell: its column's)."""
        words = content_words(claim)
        pool = [n for n in (allowed if allowed is not None else self.by_n) if n in self.by_n]
        named = [n for n in self.named(claim) if n in pool]
        scores = {n: self._score(words, n) for n in pool}
        # The model's own markers count at the lower threshold; a source it did not cite must clearly hold it.
        holds = [n for n in pool if (self._share(words, [n]) >= SUPPORTED_AT if n in cited
                                     else scores[n] >= ATTRIBUTE_AT) and self._states_numbers(claim, [n])]
        if len(named) >= 2 and (halves := self._halves(claim, pool)) is not None:
            return halves
        if holds:
            holds = self._renumbered(holds, cited, named, scores)
            lead = max(holds, key=lambda n: (n in named, n in cited, n in self.previous, scores[n], -n))
            chosen = sorted(self._extend([lead], words, named))
        else:
            chosen = self._pair(words, pool, cited, named)
        if (not chosen or not self._states_numbers(claim, chosen) or self._reverses(claim, chosen)
                or not self._negation_stated(claim, chosen)):
            return []
        return chosen

    @staticmethod
    def _renumbered(holds: list[int], cited: list[int], named: list[int], scores: dict[int, float]) -> list[int]:
        """The holding sources, without the model's markers when they are a wrong number: a cited source that
        shares only some of the claim's words (enough for its own citation to pass) yields to an uncited one that
        states the claim plainly, by MISNUMBERED_GAIN more. A source the claim names is never overruled."""
        mine = [n for n in holds if n in cited]
        if not mine or any(n in named for n in mine):
            return holds
        best_cited = max(scores[n] for n in mine)
        plain = [n for n in holds if n not in cited and scores[n] >= best_cited + MISNUMBERED_GAIN]
        return plain or holds

    def _negation_stated(self, claim: str, chosen: list[int]) -> bool:
        """A claim that says something is not so ("B does not need labels") needs a source sentence that says
        so too: a small model makes up contrasts by negating what one paper does for the other."""
        if not _NEGATION.search(claim.lower()):
            return True
        words = content_words(claim)
        return any(_NEGATION.search(sentence.lower()) and len(words & content_words(sentence)) >= SUPPORTED_AT
                   * len(words) for n in chosen for sentence in split_sentences(self.by_n[n].text))

    def _halves(self, claim: str, pool: list[int]) -> list[int] | None:
        """A contrast between named papers ("A does X, whereas B does Y"): each half must hold with the paper it
        names, or the claim holds with none ([]). None when the claim is not such a contrast."""
        parts = [p for p in _CONTRAST.split(claim) if len(content_words(p)) >= 2]
        about = [[n for n in self.named(p) if n in pool] for p in parts]
        if len(parts) < 2 or sum(bool(a) for a in about) < 2:
            return None
        for part, named in zip(parts, about, strict=True):
            if named and not (self._share(content_words(part), named) >= SUPPORTED_AT
                              and self._states_numbers(part, named) and not self._reverses(part, named)
                              and self._negation_stated(part, named)):
                return []
        return sorted({n for named in about for n in named})

    def _reverses(self, claim: str, chosen: list[int]) -> bool:
        """The claim turns a figure its source states around: "increases memory by 20%" where the source says
        "saving over 20% memory" (a false premise the model went along with). Only the change words next to a
        number both state are compared, so they are about the same quantity."""
        numbers = numbers_in(claim)
        if not numbers:
            return False
        for n in chosen:
            for sentence in split_sentences(self.by_n[n].text):
                for value in numbers & numbers_in(sentence):
                    said, theirs = figure_directions(claim, value), figure_directions(sentence, value)
                    if said and theirs and not said & theirs:
                        return True
        return False

    def _extend(self, chosen: list[int], words: set[str], named: list[int]) -> list[int]:
        """Add the other sources the claim names (a sentence about two papers cites both), and no others."""
        for n in named:
            if n not in chosen and len(chosen) < MAX_CITED and self._share(words, [n]) >= PAIR_PART_AT / 2:
                chosen.append(n)
        return chosen

    def _pair(self, words: set[str], pool: list[int], cited: list[int], named: list[int]) -> list[int]:
        """Sources that hold a claim together though none does alone ("A does X, while B does Y"): the papers
        it names, else the two that hold most of it, each adding words the other lacks; or []. With markers,
        only among the cited and the named sources."""
        candidates = [n for n in pool if n in cited or n in named] if cited else pool
        both_named = len([n for n in named if n in candidates]) >= 2
        if named and not both_named:
            return []  # a claim about the one paper it names: another source's words (or numbers) do not help
        share = {n: self._share(words, [n]) for n in candidates}
        ranked = ([n for n in named if n in candidates][:MAX_CITED] if both_named
                  else sorted(candidates, key=lambda n: (-share[n], n))[:2])
        if len(ranked) < 2 or min(share[n] for n in ranked) < PAIR_PART_AT:
            return []
        together = self._share(words, ranked)
        if together < (SUPPORTED_AT if cited else ATTRIBUTE_AT):
            return []
        return sorted(ranked) if both_named or together - max(share[n] for n in ranked) >= PAIR_GAIN else []

    def _record(self, nums: list[int], claim: str = "") -> None:
        """Note the sources cited (first use first) and, given the claim, the sentences of each that hold it."""
        for n in nums:
            if n not in self.order:
                self.order.append(n)
            if claim:
                kept = self.evidence.setdefault(n, [])
                kept.extend(s for s in evidence_for(claim, self.by_n[n].text) if s not in kept)

    def _claim(self, claim: str, cited: list[int], allowed: list[int] | None = None) -> list[int] | None:
        """Check one claim: its supporting sources (recorded), or [] and the claim listed as unsupported, or None
        for a claim about another paper than the one the question is about (left out)."""
        self.result.claims += 1
        chosen = self.support(claim, cited, allowed)
        if chosen and self.focus is not None and self.focus not in chosen and self.focus not in self.named(claim):
            self.result.claims -= 1
            self.result.off_topic.append(claim.strip())
            return None
        if chosen:
            self._record(chosen, claim)
            self.previous = chosen
            return chosen
        self.result.unsupported.append(claim.strip())
        if numbers_in(claim):
            # The sources the claim is about: those it names, else those it cites, else the one sharing most words.
            pool = allowed if allowed is not None else list(self.by_n)
            about = [n for n in self.named(claim) if n in pool] or [n for n in cited if n in pool]
            if not about and pool:
                about = [max(pool, key=lambda n: self._score(content_words(claim), n))]
            # Counted only for a claim about them (a fifth of its words theirs), not for talk like "in 4 sentences".
            if about and self._share(content_words(claim), about) >= PAIR_PART_AT and (
                    not self._states_numbers(claim, about) or self._reverses(claim, about)):
                self.result.misstated_figures += 1
        return []

    # -- markers ----------------------------------------------------------------------------------------

    def _parse(self, unit: str) -> tuple[list[int], str]:
        """(valid marker numbers in order, the unit's text without markers); counts invalid markers."""
        found: list[int] = []
        for m in MARKER.finditer(unit):
            nums = parse_marker(m.group(1))
            good = [n for n in nums if n in self.by_n]
            self.result.invalid_markers += len(nums) - len(good)
            found.extend(good)
        claim = _LIST_ITEM.sub("", MARKER.sub("", unit))  # "2. PaperB ...": the item's number is no claim
        if any(h in claim.lower() for h in _REFUSAL_HINTS):
            self.result.says_refusal = True
        return list(dict.fromkeys(found)), claim

    @staticmethod
    def _rewrite(unit: str, chosen: list[int]) -> str:
        """Keep the chosen markers where the model put them, drop the others, append the chosen ones it lacked."""
        placed: list[int] = []

        def repl(m: re.Match[str]) -> str:
            keep = [n for n in parse_marker(m.group(1)) if n in chosen and n not in placed]
            placed.extend(keep)
            return (" " if m.group(0).startswith(" ") else "") + _markers(keep) if keep else ""

        text = MARKER.sub(repl, unit)
        text = re.sub(r"\s+([.,;:!?])", r"\1", text).strip()
        return _append_markers(text, _markers([n for n in chosen if n not in placed]))

    # -- lines ------------------------------------------------------------------------------------------

    def table_row(self, row: str) -> str | None:
        """Each cell is its own claim, checked against the source its column's header cites ("| HFT [1] |").
        Header and rule rows carry none. A cell that only repeats its paper's title shows as not stated; a row
        whose cells all claim nothing is dropped (an echo of the prompt's empty skeleton)."""
        if _is_table_rule(row):
            return row
        cells = row.strip().strip("|").split("|")
        if self.columns is None:  # the header
            self.columns = {}
            out = []
            for i, cell in enumerate(cells):
                nums, _claim = self._parse(cell.strip())
                if len(nums) == 1:
                    self.columns[i] = nums[0]
                    self._record(nums)
                out.append(self._rewrite(cell.strip(), nums[:1]))
            return "| " + " | ".join(out) + " |"
        out, stated = [], 0
        for i, cell in enumerate(cells):
            text = cell.strip()
            out.append(text if i == 0 else self._cell(text, self.columns.get(i)))
            stated += i > 0 and out[-1] != NOT_STATED and bool(re.search(r"\w", MARKER.sub("", out[-1])))
        if stated == 0 and len(cells) > 1:
            return None
        return "| " + " | ".join(out) + " |"

    def _cell(self, cell: str, column: int | None) -> str:
        nums, claim = self._parse(cell)
        words = content_words(claim)
        if column is None:  # a table whose header cites nothing: a cell is checked against its own markers
            if nums and len(words) >= MIN_CLAIM_WORDS:
                return self._rewrite(cell, self._claim(claim, nums, allowed=nums) or [])
            self._record(nums)
            return cell
        if not words or words <= self.title_words[column]:
            return NOT_STATED  # empty, or the title again: what the paper does is not said
        if len(words) < MIN_CLAIM_WORDS:  # "PPO", "French": too short to check, kept with its column's marker
            self._record([column], claim)
            return self._rewrite(cell, [column]) if nums else cell
        chosen = self._claim(claim, [column], allowed=[column]) or []
        return self._rewrite(cell, chosen) if nums else cell

    def prose(self, units: list[str]) -> list[str]:
        out: list[str] = []
        for unit in _fold_bare_markers(units):
            nums, claim = self._parse(unit)
            words = content_words(claim)
            if len(words) < MIN_CLAIM_WORDS:
                # Too short to check ("PPO [2]."), kept when a source has its words; a fragment no source has
                # ("then the title of [2], a colon") is format, not an answer.
                if words and not words & set().union(*(self.words[n] for n in (nums or self.by_n))):
                    continue
                self._record(nums)
                out.append(unit)
                continue
            chosen = self._claim(claim, nums)
            if chosen is None:
                continue
            if not chosen and max((self._share(words, [n]) for n in self.by_n), default=0.0) < PAIR_PART_AT:
                continue  # shares next to nothing with any source: format talk or outside knowledge, not shown
            out.append(self._rewrite(unit, chosen))
        return out


def figure_directions(text: str, value: float, window: int = DIRECTION_WINDOW) -> set[str]:
    """Which way the text says the quantity next to `value` changed: {"up"}, {"down"}, both or neither. Change
    words only ("increases", "a 5% improvement", "saving"), not comparatives like "more" or "less"."""
    tokens = re.findall(r"[\w.,%]+", MARKER.sub("", text.lower()))
    found: set[str] = set()
    for i, token in enumerate(tokens):
        if numbers_in(token.rstrip(".,")) == {value}:
            near = " ".join(tokens[max(0, i - window): i + window + 1])
            found |= {d for d, pattern in (("up", _UP), ("down", _DOWN)) if pattern.search(near)}
    return found


def _distinct_names(sources: list[Source]) -> dict[int, set[str]]:
    """source -> the method names its title gives ("LeTI: ...", "... (DePT)") that no other source's title gives.
    Acronyms an abstract defines are left out: most are kinds of thing ("(LLM)", "(SFT)"), not the paper."""
    names = {s.n: names_in(s.title, "") for s in sources}
    return {n: own - set().union(*(v for m, v in names.items() if m != n)) for n, own in names.items()}


def _fold_bare_markers(units: list[str]) -> list[str]:
    """Markers that open a unit ("... feedback. [1] LeTI ...", "... feedback. [1][2]") belong to the unit before."""
    merged: list[str] = []
    for unit in units:
        if bullet := _LIST_ITEM.match(unit):  # "- [2] PaperB: ...": a list item's markers go to its own end
            head, body = unit[: bullet.end()], unit[bullet.end():]
            if (lead := _LEADING_MARKERS.match(body)) and re.search(r"\w", MARKER.sub("", body)):
                markers = "".join(m.group(0).strip() for m in MARKER.finditer(lead.group()))
                unit = head + _append_markers(body[lead.end():], markers)
            merged.append(unit)
            continue
        lead = _LEADING_MARKERS.match(unit)
        if lead and re.search(r"\w", MARKER.sub("", unit)):
            markers = "".join(m.group(0).strip() for m in MARKER.finditer(lead.group()))
            unit = unit[lead.end():]
            if merged:
                merged[-1] = _append_markers(merged[-1], markers)
            else:
                unit = _append_markers(unit, markers)
        if re.search(r"\w", MARKER.sub("", unit)):
            merged.append(unit)
        elif MARKER.search(unit) and merged:
            merged[-1] = _append_markers(merged[-1], "".join(m.group(0).strip() for m in MARKER.finditer(unit)))
    return merged
