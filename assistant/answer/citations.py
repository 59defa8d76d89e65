"""[n] markers -> citations checked against the numbered sources.

Parses [n], [n, m], [n-m]; drops markers that point at no source (and counts them); gives an uncited
sentence a marker when it clearly matches one source (content-word overlap) and flags it as unsupported
when nothing supports it. A claim with a number that none of its cited sources states is not supported, however
many words it shares (a small model invents scores and percentages). It does not decide what a refusal looks like
beyond spotting the fixed sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.text import content_words, overlap, split_sentences
from assistant.types import REFUSAL, Citation, Source

MARKER = re.compile(r"\s?\[(\d+(?:\s*(?:[,;–-]|and)\s*\d+)*)\]")
ATTRIBUTE_AT = 0.5  # share of a sentence's content words one source must hold to earn a marker after the fact
PAIR_PART_AT = 0.2  # share each of two sources must hold to share one claim ...
PAIR_GAIN = 0.15  # ... and how much more of it the two hold together than the better one alone
SUPPORTED_AT = 0.34  # share the cited source must hold for the citation to count as supported
MIN_CLAIM_WORDS = 3  # shorter units (headings, "In summary:") are not claims
# A number standing alone: "30.0", "20%", "1,000", not the digits inside names like GPT-4, GSM8K or 7B.
_NUMBER = re.compile(r"(?<![\w.\-])\d{1,3}(?:,\d{3})+(?![\w])|(?<![\w.\-])\d+(?:\.\d+)?(?![\w]|\.\d)")
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
    claims: int = 0  # sentences that make a claim
    says_refusal: bool = False


def numbers_in(text: str) -> set[float]:
    """The stand-alone numbers of a text as values, so "30" and "30.0" or "1,000" and "1000" match."""
    return {float(m.group().replace(",", "")) for m in _NUMBER.finditer(MARKER.sub("", text))}


def _is_table_rule(line: str) -> bool:
    return bool(re.fullmatch(r"\|?[\s:|-]+\|?", line)) and "-" in line


def _clean_markers(unit: str, valid: set[int]) -> tuple[str, list[int], int]:
    """Rewrite markers as [a][b] keeping valid numbers; returns (text, numbers, invalid count)."""
    found: list[int] = []
    invalid = 0

    def repl(m: re.Match[str]) -> str:
        nonlocal invalid
        nums = parse_marker(m.group(1))
        good = [n for n in nums if n in valid]
        invalid += len(nums) - len(good)
        found.extend(good)
        return (" " if m.group(0).startswith(" ") else "") + "".join(f"[{n}]" for n in dict.fromkeys(good)) if good \
            else ""

    return MARKER.sub(repl, unit), found, invalid


def _append_markers(sentence: str, markers: str) -> str:
    """Put markers before the sentence's final punctuation: "claim [1]." """
    m = re.search(r"([.!?:;]+[\"')]*)$", sentence)
    if m:
        return f"{sentence[: m.start()].rstrip()} {markers}{m.group(1)}"
    return f"{sentence} {markers}"


def _add_marker(sentence: str, n: int) -> str:
    return _append_markers(sentence, f"[{n}]")


def check(text: str, sources: list[Source]) -> Checked:
    ctx = _Context(sources)
    out_lines: list[str] = []
    for line in text.strip().splitlines():
        stripped = line.strip()
        if not stripped.startswith("|"):
            ctx.columns = None  # a table ends at the first line that is not a row
        if not stripped:
            out_lines.append("")
        elif stripped.startswith("|"):
            out_lines.append(ctx.table_row(stripped))
        else:
            out_lines.append(" ".join(ctx.prose(split_sentences(stripped))))
    ctx.result.text = "\n".join(out_lines).strip()
    by_n = ctx.by_n
    ctx.result.citations = [
        Citation(n=n, paper_id=by_n[n].paper_id, title=by_n[n].title, url=by_n[n].url, supported=n in ctx.supported)
        for n in ctx.order
    ]
    return ctx.result


class _Context:
    """State of one check: sources' words, cited numbers in order, which of them some claim supports."""

    def __init__(self, sources: list[Source]) -> None:
        self.by_n = {s.n: s for s in sources}
        self.words = {s.n: content_words(f"{s.title} {s.text}") for s in sources}
        self.sentences = {s.n: [content_words(x) for x in split_sentences(s.text)] for s in sources}
        self.numbers = {s.n: numbers_in(f"{s.title} {s.text}") for s in sources}
        self.order: list[int] = []  # cited numbers, first appearance first
        self.columns: dict[int, int] | None = None  # in a table: column -> the source its header cites
        self.supported: set[int] = set()
        self.result = Checked(text="", citations=[])

    def _cite(self, claim: str, nums: list[int]) -> bool:
        """Record the citations of one claim; True if a cited source supports it, or the cited sources together
        do (a synthesis sentence about two papers)."""
        ok = False
        for n in nums:
            if n not in self.order:
                self.order.append(n)
            if self._holds(claim, [n]):
                self.supported.add(n)
                ok = True
        if not ok and len(set(nums)) > 1 and self._holds(claim, nums):
            self.supported.update(nums)
            ok = True
        return ok

    def _holds(self, claim: str, nums: list[int]) -> bool:
        """The sources `nums` together share enough of the claim's words and state every number it states."""
        words = set().union(*(self.words[n] for n in nums))
        return overlap(claim, words) >= SUPPORTED_AT and numbers_in(claim) <= set().union(
            *(self.numbers[n] for n in nums))

    def _clean(self, unit: str) -> tuple[str, list[int], str]:
        cleaned, nums, invalid = _clean_markers(unit, set(self.by_n))
        self.result.invalid_markers += invalid
        claim = MARKER.sub("", cleaned)
        if any(h in claim.lower() for h in _REFUSAL_HINTS):
            self.result.says_refusal = True
        return cleaned, nums, claim

    def table_row(self, row: str) -> str:
        """Each cell is its own claim; header and rule rows carry none. Cells never get markers added: a cell
        without its own marker is checked against the source its column's header cites ("| HFT [1] |")."""
        if _is_table_rule(row):
            return row
        cells = row.strip().strip("|").split("|")
        header = self.columns is None
        if header:
            self.columns = {}
        out = []
        for i, cell in enumerate(cells):
            cleaned, nums, claim = self._clean(cell.strip())
            if header:
                if len(set(nums)) == 1:
                    self.columns[i] = nums[0]
            elif not nums and i in self.columns:
                nums = [self.columns[i]]
            if nums and len(content_words(claim)) >= 1:
                if len(content_words(claim)) >= MIN_CLAIM_WORDS:
                    self.result.claims += 1
                    if not self._cite(claim, nums):
                        self.result.unsupported.append(claim.strip())
                else:
                    for n in nums:
                        if n not in self.order:
                            self.order.append(n)
            out.append(cleaned)
        return "| " + " | ".join(out) + " |"

    def prose(self, units: list[str]) -> list[str]:
        new_units: list[str] = []
        for unit in units:
            cleaned, nums, claim = self._clean(unit)
            if not re.search(r"\w", claim):
                # A unit of bare markers ("... feedback [1]. [1]"): fold new numbers into the previous unit.
                if new_units and nums:
                    extra = "".join(f"[{n}]" for n in dict.fromkeys(nums) if f"[{n}]" not in new_units[-1])
                    if extra:
                        new_units[-1] = _append_markers(new_units[-1], extra)
                    for n in nums:
                        if n not in self.order:
                            self.order.append(n)
                continue
            if len(content_words(claim)) < MIN_CLAIM_WORDS:
                new_units.append(cleaned)
                continue
            self.result.claims += 1
            if not nums:
                best_n, best = _best_source(claim, self.words, self.sentences)
                pair = _best_pair(claim, self.words)
                if pair:  # "A does X, while B does Y": each half from its own paper
                    cleaned, nums = _append_markers(cleaned, "".join(f"[{n}]" for n in pair)), list(pair)
                elif best_n is not None and best >= ATTRIBUTE_AT:
                    cleaned, nums = _add_marker(cleaned, best_n), [best_n]
                else:
                    self.result.unsupported.append(claim.strip())
                    new_units.append(cleaned)
                    continue
            if not self._cite(claim, nums):
                self.result.unsupported.append(claim.strip())
            new_units.append(cleaned)
        return new_units


def _best_source(
    claim: str, words: dict[int, set[str]], sentences: dict[int, list[set[str]]]
) -> tuple[int | None, float]:
    best_n, best = None, 0.0
    for n, ws in words.items():
        sent_best = max((overlap(claim, s) for s in sentences[n]), default=0.0)
        score = max(sent_best, 0.85 * overlap(claim, ws))
        if score > best:
            best_n, best = n, score
    return best_n, best


def _best_pair(claim: str, words: dict[int, set[str]]) -> tuple[int, int] | None:
    """Two sources that hold a claim together, each contributing words the other lacks, or None."""
    share = {n: overlap(claim, ws) for n, ws in words.items()}
    ranked = sorted(share, key=lambda n: -share[n])[:2]
    if len(ranked) < 2 or share[ranked[1]] < PAIR_PART_AT:
        return None
    a, b = sorted(ranked)
    both = overlap(claim, words[a] | words[b])
    return (a, b) if both >= ATTRIBUTE_AT and both - share[ranked[0]] >= PAIR_GAIN else None
