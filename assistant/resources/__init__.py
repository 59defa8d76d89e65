"""The files that ship inside the package: the prompt templates and the built-in corpus.

`prompts/` and `corpus/` here are links to the repository's top-level `prompts/` and `data/corpus/`; a built wheel
holds the files themselves. Found with `importlib.resources`, so they work from a source checkout and from an
installed wheel alike, whatever the working directory.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _path(name: str) -> Path:
    return Path(str(files(__name__) / name))


def prompts_dir() -> Path:
    """The packaged prompt templates (`prompts_dir` in the settings overrides them)."""
    return _path("prompts")


def corpus_dir() -> Path:
    """The built-in corpus: five captures of Hugging Face Daily Papers pages."""
    return _path("corpus")
