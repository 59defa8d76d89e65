"""Files added from the Papers tab: checked against the upload limits, read whole (a bad file stops everything
before anything is written), ingested into the chosen collection, which the next question then searches.

Plain Python over the app (no Gradio objects); `page` wires it to the upload box and its progress bar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from assistant.app import App
from assistant.config import COLLECTION_PATTERN
from assistant.ingest.corpus import EXTENSIONS, CorpusError, read_paths
from assistant.ingest.index import ingest


class UploadError(ValueError):
    """An upload cannot be taken; the message names the file (by the name the user gave it) and why."""


@dataclass(frozen=True)
class Added:
    collection: str
    files: int
    entries: int
    papers_new: int
    papers_updated: int
    papers_unchanged: int
    skipped: int
    seconds: float

    def message(self) -> str:
        skipped = f"; skipped {self.skipped} without an abstract" if self.skipped else ""
        return (f"Added to “{self.collection}”: {self.files} file(s), {self.entries} entries{skipped}. "
                f"New {self.papers_new}, updated {self.papers_updated}, unchanged {self.papers_unchanged} "
                f"({self.seconds:.1f} s). They are searchable now.")


def _shown(text: str, paths: list[Path]) -> str:
    """Errors name the uploaded file as the user named it, not the server's temp path."""
    for p in paths:
        text = text.replace(str(p), p.name)
    return text


def check_upload(paths: list[Path], collection: str, max_files: int, max_mb: float) -> None:
    if not paths:
        raise UploadError("Choose one or more files first.")
    if not re.match(COLLECTION_PATTERN, collection or ""):
        raise UploadError(f"Collection name {collection!r}: use lowercase letters, digits, - and _ "
                          "(at most 40 characters).")
    if len(paths) > max_files:
        raise UploadError(f"{len(paths)} files: at most {max_files} per upload (ui.max_upload_files).")
    for p in paths:
        if p.suffix.lower() not in EXTENSIONS:
            raise UploadError(f"{p.name}: unknown format {p.suffix or '(no extension)'!r}; use one of "
                              f"{', '.join(EXTENSIONS)}.")
        size = p.stat().st_size
        if size > max_mb * 1024 * 1024:
            raise UploadError(f"{p.name}: {size / 1024 / 1024:.1f} MB is over the {max_mb:g} MB limit "
                              "(ui.max_upload_mb).")


def add_files(app: App, paths: list[Path], collection: str) -> Added:
    """Read every file, then ingest them into `collection` (created when new); the page's next question and
    search see them. Raises UploadError (limits, formats, a file's `file:line` problem), and nothing is written
    when a file cannot be read."""
    ui = app.settings.ui
    check_upload(paths, collection, ui.max_upload_files, ui.max_upload_mb)
    try:
        result = read_paths(paths)
    except CorpusError as e:
        raise UploadError(_shown(str(e), paths) + " Nothing was added.") from e
    if not result.papers:
        raise UploadError(f"{', '.join(p.name for p in paths)}: no paper with a title and an abstract "
                          f"({len(result.skipped)} entries without an abstract). Nothing was added.")
    report = ingest(result.papers, app.settings, app.embedder, files=len(result.files), collection=collection)
    app.collections.forget(collection)
    return Added(collection, report.files, len(result.entries), report.papers_new, report.papers_updated,
                 report.papers_unchanged, len(result.skipped), report.seconds)
