"""Reads CSL-JSON, the JSON that Zotero ("Export… → CSL JSON"), Mendeley and citeproc tools write: a top-level
list of items with "type", "title", "abstract", "author" [{family, given}], "issued" {"date-parts"}, "DOI", "URL",
"container-title". `records.read_json` hands a list over when its items have a "type" (our own records never do).

Items without an abstract are skipped and named. Errors name the file and the line where the item starts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assistant.ingest.readers.base import CorpusError, Skipped, find_arxiv_id, paper_or_skip
from assistant.types import Paper


def is_csl(data: Any) -> bool:
    return isinstance(data, list) and bool(data) and all(isinstance(i, dict) and "type" in i for i in data)


def _item_lines(text: str) -> list[int]:
    """The line each item of the (already valid) top-level JSON array starts on."""
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    lines = []
    while True:
        while text[pos].isspace():
            pos += 1
        if text[pos] == "]":
            return lines
        lines.append(text.count("\n", 0, pos) + 1)
        _, pos = decoder.raw_decode(text, pos)
        while text[pos].isspace():
            pos += 1
        if text[pos] == ",":
            pos += 1


def _str(where: str, item: dict, key: str) -> str | None:
    value = item.get(key)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):  # some tools write ["Journal"]
        value = value[0] if value else None
    if value is None or isinstance(value, str):
        return (value or "").strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise CorpusError(f"{where}: {key!r} must be text, got {type(value).__name__}")


def _names(where: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(a, dict) for a in value):
        raise CorpusError(f"{where}: 'author' must be a list of {{\"family\", \"given\"}} objects")
    names = []
    for a in value:
        parts = [a.get("given"), a.get("non-dropping-particle"), a.get("family")]
        name = a.get("literal") or " ".join(str(p).strip() for p in parts if p)
        if a.get("suffix") and not a.get("literal"):
            name = f"{name}, {a['suffix']}"
        if name:
            names.append(str(name))
    return names


def _date(where: str, value: Any) -> tuple[str | None, int | None]:
    """("2023-05-17", 2023) from {"date-parts": [[2023, 5, 17]]}; raw and literal dates as given."""
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise CorpusError(f"{where}: 'issued' must be an object like {{\"date-parts\": [[2023, 5, 17]]}}")
    parts = value.get("date-parts")
    if parts:
        try:
            first = [int(p) for p in parts[0]]
        except (TypeError, ValueError, IndexError, KeyError):
            raise CorpusError(f"{where}: 'issued' date-parts {parts!r} are not numbers like [[2023, 5, 17]]") from None
        if first:
            return "-".join([f"{first[0]:04d}", *(f"{p:02d}" for p in first[1:3])]), first[0]
    text = value.get("raw") or value.get("literal")
    return (str(text).strip() or None, None) if text else (None, None)


def read_csl_items(path: Path, text: str, items: list[dict]) -> list[Paper | Skipped]:
    out: list[Paper | Skipped] = []
    for i, (line, item) in enumerate(zip(_item_lines(text), items, strict=True), 1):
        where = f"{path}:{line}"
        published, year = _date(where, item.get("issued"))
        keywords = [k.strip() for k in (_str(where, item, "keyword") or "").split(",")]
        extra = {"number": _str(where, item, "number"), "note": _str(where, item, "note")}
        doi, url = _str(where, item, "DOI"), _str(where, item, "URL")
        out.append(paper_or_skip(
            _str(where, item, "title"), _str(where, item, "abstract"), where, f"{path.name}:{line}",
            key=str(item.get("id") or f"item {i}"), authors=_names(where, item.get("author")),
            published=published, year=year, doi=doi, url=url, keywords=keywords,
            venue=_str(where, item, "container-title") or _str(where, item, "event-title"),
            arxiv_id=find_arxiv_id(extra["number"], doi, url, extra["note"]),
        ))
    return out
