"""Saved conversations: one JSON file per chat in `ui.chats_dir`, listed newest first, reopened as answers.

A file holds the answers as `Answer.to_dict()` gives them, so a reopened chat shows its sources and exports its
references like a live one. Written to a temp file and renamed: a crash never leaves half a chat. No Gradio here.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from assistant.answer.export import answer_from_dict
from assistant.types import Answer

FORMAT = 1
_SLUG = re.compile(r"[^a-z0-9]+")


class ChatFileError(ValueError):
    """A saved chat cannot be read; the message names the file."""


@dataclass(frozen=True)
class SavedChat:
    path: Path
    title: str
    saved: float  # seconds since the epoch
    turns: int

    @property
    def label(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved))
        return f"{when} · {self.title[:60]} ({self.turns} question{'s' if self.turns != 1 else ''})"


def save_chat(directory: Path, answers: list[Answer], path: Path | None = None) -> Path:
    """Write the chat (to `path` when it was saved before, else to a new file named by time and first question)."""
    if not answers:
        raise ChatFileError("nothing to save: ask a question first")
    directory.mkdir(parents=True, exist_ok=True)
    title = answers[0].question
    if path is None:
        slug = _SLUG.sub("-", title.lower()).strip("-")[:40] or "chat"
        path = directory / f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}.json"
    data = {"format": FORMAT, "title": title, "saved": time.time(), "answers": [a.to_dict() for a in answers]}
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".chat-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ChatFileError(f"{path}: not a saved chat ({e})") from e
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("answers"), list):
        raise ChatFileError(f"{path}: not a saved chat (format {FORMAT} expected)")
    return data


def list_chats(directory: Path) -> list[SavedChat]:
    """The readable saved chats, newest first; unreadable files are left out (and left alone)."""
    out = []
    for path in directory.glob("*.json") if directory.is_dir() else []:
        try:
            data = _read(path)
        except ChatFileError:
            continue
        out.append(SavedChat(path, str(data.get("title", path.stem)), float(data.get("saved", 0)),
                             len(data["answers"])))
    return sorted(out, key=lambda c: -c.saved)


def load_chat(path: Path, directory: Path) -> list[Answer]:
    """The answers of a saved chat; only files inside `directory` are opened (the page passes a name back)."""
    path = Path(path).resolve()
    if path.parent != directory.resolve():
        raise ChatFileError(f"{path}: not in the chats directory {directory}")
    data = _read(path)
    try:
        return [answer_from_dict(a) for a in data["answers"]]
    except (KeyError, TypeError, ValueError) as e:
        raise ChatFileError(f"{path}: a saved answer is malformed ({e})") from e
