"""Reads a Zotero library: its data directory (~/Zotero) or the zotero.sqlite in it, never changing or locking it.

The database is copied (with its -wal and -journal files, when present) to a temp directory and the copy is
opened with `mode=ro` (`mode=rw` when a -journal came along: Zotero was mid-transaction, and SQLite must roll
that back in the copy to see the last committed library). The original is never opened by SQLite at all.
Opening the live file with `immutable=1` would also take no lock, but SQLite then assumes the file cannot
change: a write by a running Zotero mid-read gives wrong rows or "malformed" errors, and committed changes still
in the -wal file are not seen. A copy is a plain read of the bytes, which no Zotero lock stops (Zotero holds an
exclusive lock while it runs); a copy taken while Zotero was writing is detected (the files changed during the
copy) and taken again.

Read: regular items (not notes, attachments, annotations, trashed or feed items) with title, abstractNote,
creators (authors), date, DOI, url, publicationTitle/proceedingsTitle/conferenceName, tags, and the arXiv id
from archiveID, extra, url or DOI. Items without an abstract are skipped and named.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
from collections import defaultdict
from pathlib import Path

from assistant.ingest.readers.base import CorpusError, Skipped, find_arxiv_id, paper_or_skip
from assistant.types import Paper

DATABASE = "zotero.sqlite"
_NOT_PAPERS = ("note", "attachment", "annotation")
_VENUES = ("publicationTitle", "proceedingsTitle", "conferenceName", "bookTitle", "websiteTitle")
_SQL_DATE = re.compile(r"^(\d{4})-\d{2}-\d{2} (.*)$", re.DOTALL)  # Zotero stores "2023-05-17 May 17, 2023"
COPY_TRIES = 3


def database_of(path: Path) -> Path:
    """The zotero.sqlite of a data directory, or the file itself."""
    return path / DATABASE if path.is_dir() else path


def _stamp(path: Path) -> tuple[tuple[int, int], ...]:
    files = [path, *(path.with_name(path.name + s) for s in ("-wal", "-journal"))]
    return tuple((f.stat().st_size, f.stat().st_mtime_ns) if f.exists() else (-1, -1) for f in files)


def _copy(db: Path, tmp: Path) -> Path:
    """db (and its -wal/-journal) copied into tmp; retried while Zotero writes to it during the copy."""
    for _ in range(COPY_TRIES):
        before = _stamp(db)
        for suffix in ("", "-wal", "-journal"):
            source = db.with_name(db.name + suffix)
            target = tmp / (DATABASE + suffix)
            target.unlink(missing_ok=True)
            if source.exists():
                shutil.copyfile(source, target)
        if _stamp(db) == before:
            return tmp / DATABASE
    raise CorpusError(f"{db}: the database kept changing while it was copied (Zotero is syncing?); try again")


def _rows(con: sqlite3.Connection, db: Path) -> list[tuple[int, str, str, str]]:
    """(itemID, item type, field name, value) of every live regular item."""
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    needed = {"items", "itemData", "itemDataValues", "itemTypes", "fields"}
    if not needed <= tables:
        raise CorpusError(f"{db}: not a Zotero database (no {', '.join(sorted(needed - tables))} table)")
    # The *Combined tables (Zotero 5+) also hold custom types and fields; older databases have only the base ones.
    types = "itemTypesCombined" if "itemTypesCombined" in tables else "itemTypes"
    fields = "fieldsCombined" if "fieldsCombined" in tables else "fields"
    hidden = " ".join(f"AND i.itemID NOT IN (SELECT itemID FROM {t})" for t in ("deletedItems", "feedItems")
                      if t in tables)
    marks = ", ".join("?" for _ in _NOT_PAPERS)
    return con.execute(
        f"SELECT i.itemID, t.typeName, f.fieldName, v.value FROM items i "
        f"JOIN {types} t ON t.itemTypeID = i.itemTypeID "
        f"JOIN itemData d ON d.itemID = i.itemID JOIN {fields} f ON f.fieldID = d.fieldID "
        f"JOIN itemDataValues v ON v.valueID = d.valueID "
        f"WHERE t.typeName NOT IN ({marks}) {hidden} ORDER BY i.itemID",
        _NOT_PAPERS,
    ).fetchall()


def _creators(con: sqlite3.Connection) -> dict[int, list[str]]:
    """itemID -> author names in order ("Given Family"; one-field names as stored)."""
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"creators", "itemCreators"} <= tables:
        return {}
    author = ("AND ic.creatorTypeID IN (SELECT creatorTypeID FROM creatorTypes WHERE creatorType = 'author')"
              if "creatorTypes" in tables else "")
    out: dict[int, list[str]] = defaultdict(list)
    for item, first, last, mode in con.execute(
        f"SELECT ic.itemID, c.firstName, c.lastName, c.fieldMode FROM itemCreators ic "
        f"JOIN creators c ON c.creatorID = ic.creatorID WHERE 1 {author} ORDER BY ic.itemID, ic.orderIndex"
    ):
        out[item].append(last if mode == 1 else " ".join(p for p in (first, last) if p))
    return out


def _tags(con: sqlite3.Connection) -> dict[int, list[str]]:
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"tags", "itemTags"} <= tables:
        return {}
    out: dict[int, list[str]] = defaultdict(list)
    for item, name in con.execute("SELECT it.itemID, t.name FROM itemTags it JOIN tags t ON t.tagID = it.tagID "
                                  "ORDER BY it.itemID, t.name"):
        out[item].append(name)
    return out


def _date(value: str | None) -> tuple[str | None, int | None]:
    if not value:
        return None, None
    m = _SQL_DATE.match(value)
    if not m:
        return value, None
    year = int(m.group(1))
    return m.group(2).strip() or None, year or None


def _read(con: sqlite3.Connection, db: Path) -> list[Paper | Skipped]:
    items: dict[int, dict[str, str]] = defaultdict(dict)
    for item, _kind, field, value in _rows(con, db):
        items[item][field] = str(value) if value is not None else ""
    creators, tags = _creators(con), _tags(con)
    out: list[Paper | Skipped] = []
    for item, data in items.items():
        where = f"{db}: item {item}"
        published, year = _date(data.get("date"))
        out.append(paper_or_skip(
            data.get("title"), data.get("abstractNote"), where, f"{db.name}#{item}", key=f"item {item}",
            authors=creators.get(item, []), published=published, year=year, doi=data.get("DOI"),
            url=data.get("url"), keywords=tags.get(item, []),
            venue=next((data[k] for k in _VENUES if data.get(k)), None),
            arxiv_id=find_arxiv_id(data.get("archiveID"), data.get("extra"), data.get("DOI"), data.get("url")),
        ))
    return out


def read_zotero(path: Path) -> list[Paper | Skipped]:
    db = database_of(path)
    if not db.is_file():
        raise CorpusError(f"{path}: no {DATABASE} here (point ingest at the Zotero data directory or the file)")
    with tempfile.TemporaryDirectory(prefix="paper-assistant-zotero-") as tmp:
        try:
            copy = _copy(db, Path(tmp))
        except OSError as e:
            raise CorpusError(f"{db}: cannot read ({e.strerror})") from None
        try:
            mode = "rw" if copy.with_name(DATABASE + "-journal").exists() else "ro"
            con = sqlite3.connect(f"{copy.as_uri()}?mode={mode}", uri=True)
        except sqlite3.Error as e:
            raise CorpusError(f"{db}: cannot open ({e})") from None
        try:
            return _read(con, db)
        except sqlite3.DatabaseError as e:
            raise CorpusError(f"{db}: not a readable Zotero database ({e})") from None
        finally:
            con.close()
