"""[n] markers -> citations checked against the numbered sources.

Parses [n], [n, m], [n-m]; drops markers that point at no source (and counts them); gives an uncited
sentence a marker when it clearly matches one source (content-word overlap) and flags it as unsupported
when nothing supports it. It does not decide what a refusal looks like beyond spotting the fixed sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.text import content_words, overlap, split_sentences
from assistant.types import REFUSAL, Citation, Source

MARKER = re.compile(r"\s?\[(\d+(?:\s*(?:[,;–-]|and)\s*\d+)*)\]")
ATTRIBUTE_AT = 0.5  # share of a sentence's content words one source must hold to earn a marker after the fact
SUPPORTED_AT = 0.34  # share the cited source must hold for the citation to count as supported
MIN_CLAIM_WORDS = 3  # shorter units (headings, "In summary:") are not claims
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
        self.order: list[int] = []  # cited numbers, first appearance first
        self.supported: set[int] = set()
        self.result = Checked(text="", citations=[])

    def _cite(self, claim: str, nums: list[int]) -> bool:
        """Record the citations of one claim; True if at least one cited source supports it."""
        ok = False
        for n in nums:
            if n not in self.order:
                self.order.append(n)
            if overlap(claim, self.words[n]) >= SUPPORTED_AT:
                self.supported.add(n)
                ok = True
        return ok

    def _clean(self, unit: str) -> tuple[str, list[int], str]:
        cleaned, nums, invalid = _clean_markers(unit, set(self.by_n))
        self.result.invalid_markers += invalid
        claim = MARKER.sub("", cleaned)
        if any(h in claim.lower() for h in _REFUSAL_HINTS):
            self.result.says_refusal = True
        return cleaned, nums, claim

    def table_row(self, row: str) -> str:
        """Each cell is its own claim; header and rule rows carry none. Cells never get markers added."""
        if _is_table_rule(row):
            return row
        cells = row.strip().strip("|").split("|")
        out = []
        for cell in cells:
            cleaned, nums, claim = self._clean(cell.strip())
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
                if best_n is not None and best >= ATTRIBUTE_AT:
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
