"""Prompt templates as files: `<name>.md` with a system and a user part, rendered strictly with Jinja; and the
guard that keeps a prompt's own instructions out of the answers it produces.

The packaged templates (`assistant.resources`) unless `prompts_dir` names another directory. A missing variable
is an error (StrictUndefined), never an empty string. Templates are read once per loader. Choosing which prompt to
use and what goes in it is the pipeline's job. The guard compares words only: it drops answer sentences that
reproduce an instruction (a small model echoes format rules like "Two sentences comparing the papers:"), never
rewrites them, and leaves table rows to the citation checker.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from functools import cached_property
from pathlib import Path
from typing import Any

from assistant.config import ConfigError
from assistant.llms.base import Message
from assistant.resources import prompts_dir
from assistant.text import split_sentences

_SECTION = re.compile(r"^<!-- (system|user) -->\n", re.MULTILINE)
_TOKEN = re.compile(r"[a-z0-9]+")
_MARKER = re.compile(r"\[\d+(?:\s*[,;–-]\s*\d+)*\]|\[n\]")
ECHO_AT = 0.75  # share of a sentence's words that, in the same order, make up part of one instruction
MIN_ECHO_WORDS = 3  # shorter sentences ("In short:") are not compared
LABEL_WORDS = 6  # a line this short ending in a colon, citing nothing, is a label
_LEADING_LABEL = re.compile(r"^\s*(?:answer|a|response)\s*:\s*", re.I)  # "A: ..." copied from an example


class PromptError(ConfigError):
    """A template is missing, malformed or rendered without a variable it needs."""


class Prompts:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or prompts_dir()
        self._cache: dict[str, tuple[Any, Any]] = {}  # name -> (system template, user template)

    @cached_property
    def _env(self) -> Any:
        from jinja2 import Environment, StrictUndefined

        return Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)

    def _templates(self, name: str) -> tuple[Any, Any]:
        if name not in self._cache:
            path = self.directory / f"{name}.md"
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as e:
                raise PromptError(f"prompts_dir: cannot read prompt {path}: {e.strerror}") from e
            parts = _SECTION.split(text)
            # ["", "system", body, "user", body]
            if len(parts) != 5 or parts[1] != "system" or parts[3] != "user":
                raise PromptError(f"{path}: expected a '<!-- system -->' part then a '<!-- user -->' part")
            self._cache[name] = (self._env.from_string(parts[2].strip()), self._env.from_string(parts[4].strip()))
        return self._cache[name]

    def instructions(self, name: str, **variables: Any) -> list[str]:
        """The prompt's own text as an answer could echo it: both parts rendered without sources, question or
        refusal sentence (that one an answer may rightly be), split into lines and sentences; table rows left out
        (the skeleton is the answer's own format)."""
        blank = {**variables, "sources": [], "question": "", "refusal": ""}
        units: list[str] = []
        for message in self.render(name, **blank):
            for line in _joined_lines(message["content"]):
                if not line.startswith("|"):
                    units.extend(dict.fromkeys([line, *split_sentences(line), *re.split(r"(?<=:)\s+", line)]))
        return [u for u in units if len(_tokens(u)) >= MIN_ECHO_WORDS]

    def render(self, name: str, **variables: Any) -> list[Message]:
        from jinja2 import UndefinedError

        system, user = self._templates(name)
        try:
            return [
                {"role": "system", "content": system.render(**variables)},
                {"role": "user", "content": user.render(**variables)},
            ]
        except UndefinedError as e:
            raise PromptError(f"{self.directory / (name + '.md')}: {e.message}") from e


def _joined_lines(text: str) -> list[str]:
    """Lines of a prompt with wrapped lines joined: a line that starts in lower case continues the one before."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if lines and line and (raw[:1].isspace() or line[0].islower()) and not lines[-1].startswith("|"):
            lines[-1] = f"{lines[-1]} {line}"
        elif line:
            lines.append(line)
    return lines


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(_MARKER.sub(" ", text.lower()))


def _echoes(unit: str, instructions: list[list[str]]) -> bool:
    """True when most of the unit's words, in order, are one instruction's words, or the unit is a bare label
    ("Two sentences comparing the papers:", "Table:"): a heading that cites nothing is the prompt's format."""
    words = _tokens(unit)
    if unit.rstrip().endswith(":") and len(words) <= LABEL_WORDS and not _MARKER.search(unit):
        return True
    if len(words) < MIN_ECHO_WORDS:
        return False
    for inst in instructions:
        matcher = SequenceMatcher(None, words, inst, autojunk=False)
        if sum(b.size for b in matcher.get_matching_blocks()) >= ECHO_AT * len(words):
            return True
    return False


def strip_echoes(text: str, instructions: list[str]) -> tuple[str, list[str]]:
    """The answer without the sentences that reproduce one of `instructions` (`Prompts.instructions`), and the
    sentences dropped. Table rows are kept as they are."""
    inst = [_tokens(i) for i in instructions]
    kept_lines: list[str] = []
    dropped: list[str] = []
    for line in text.splitlines():
        if line.strip().startswith("|") or not line.strip():
            kept_lines.append(line)
            continue
        bullet = re.match(r"^\s*(?:[-*•]|\d+\.)\s+", line)
        head, body = (line[: bullet.end()], line[bullet.end():]) if bullet else ("", line)
        body = _LEADING_LABEL.sub("", body)
        kept = []
        for unit in split_sentences(body) or [body]:
            (dropped if _echoes(unit, inst) else kept).append(unit)
        if kept:
            kept_lines.append(head + " ".join(kept))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept_lines)).strip(), dropped
