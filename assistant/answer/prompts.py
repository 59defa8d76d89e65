"""Prompt templates as files: `<name>.md` with a system and a user part, rendered strictly with Jinja.

The packaged templates (`assistant.resources`) unless `prompts_dir` names another directory. A missing variable
is an error (StrictUndefined), never an empty string. Templates are read once per loader. Choosing which prompt to
use and what goes in it is the pipeline's job.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Any

from assistant.config import ConfigError
from assistant.llms.base import Message
from assistant.resources import prompts_dir

_SECTION = re.compile(r"^<!-- (system|user) -->\n", re.MULTILINE)


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
