"""Builds tests/data/zotero/zotero.sqlite: a small Zotero library with the tables, columns and storage
conventions of Zotero's own schema (resource/schema/userdata.sql and system.sql in zotero/zotero): items,
itemTypes(+Combined), itemData, itemDataValues, fields(+Combined), creators, creatorTypes, itemCreators,
deletedItems, tags, itemTags, itemNotes, itemAttachments. Dates are stored as Zotero stores them
("2023-05-17 2023-05-17": the SQL date, then the date as entered).

It holds five papers, a book without an abstract, a PDF attachment and a note (not papers), and a trashed
paper. Run from the repository root: python -m tests.data.make_zotero
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.data.make_exports import abstracts
from tests.data.papers import PAPERS

HERE = Path(__file__).parent / "zotero"

SCHEMA = """
CREATE TABLE version (schema TEXT PRIMARY KEY, version INT NOT NULL);
CREATE TABLE libraries (libraryID INTEGER PRIMARY KEY, type TEXT NOT NULL, editable INT NOT NULL,
    filesEditable INT NOT NULL, version INT NOT NULL DEFAULT 0, storageVersion INT NOT NULL DEFAULT 0,
    lastSync INT NOT NULL DEFAULT 0, archived INT NOT NULL DEFAULT 0);
CREATE TABLE itemTypes (itemTypeID INTEGER PRIMARY KEY, typeName TEXT, templateItemTypeID INT, display INT DEFAULT 1);
CREATE TABLE itemTypesCombined (itemTypeID INT NOT NULL, typeName TEXT NOT NULL, display INT DEFAULT 1 NOT NULL,
    custom INT NOT NULL, PRIMARY KEY (itemTypeID));
CREATE TABLE fields (fieldID INTEGER PRIMARY KEY, fieldName TEXT, fieldFormatID INT);
CREATE TABLE fieldsCombined (fieldID INT NOT NULL, fieldName TEXT NOT NULL, label TEXT, fieldFormatID INT,
    custom INT NOT NULL, PRIMARY KEY (fieldID));
CREATE TABLE creatorTypes (creatorTypeID INTEGER PRIMARY KEY, creatorType TEXT);
CREATE TABLE items (itemID INTEGER PRIMARY KEY, itemTypeID INT NOT NULL,
    dateAdded TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, dateModified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    clientDateModified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, libraryID INT NOT NULL, key TEXT NOT NULL,
    version INT NOT NULL DEFAULT 0, synced INT NOT NULL DEFAULT 0, UNIQUE (libraryID, key),
    FOREIGN KEY (libraryID) REFERENCES libraries(libraryID) ON DELETE CASCADE);
CREATE TABLE itemDataValues (valueID INTEGER PRIMARY KEY, value UNIQUE);
CREATE TABLE itemData (itemID INT, fieldID INT, valueID, PRIMARY KEY (itemID, fieldID),
    FOREIGN KEY (itemID) REFERENCES items(itemID) ON DELETE CASCADE,
    FOREIGN KEY (fieldID) REFERENCES fieldsCombined(fieldID), FOREIGN KEY (valueID) REFERENCES itemDataValues(valueID));
CREATE TABLE itemNotes (itemID INTEGER PRIMARY KEY, parentItemID INT, note TEXT, title TEXT,
    FOREIGN KEY (itemID) REFERENCES items(itemID) ON DELETE CASCADE,
    FOREIGN KEY (parentItemID) REFERENCES items(itemID) ON DELETE CASCADE);
CREATE TABLE itemAttachments (itemID INTEGER PRIMARY KEY, parentItemID INT, linkMode INT, contentType TEXT,
    charsetID INT, path TEXT, syncState INT DEFAULT 0, storageModTime INT, storageHash TEXT,
    FOREIGN KEY (itemID) REFERENCES items(itemID) ON DELETE CASCADE,
    FOREIGN KEY (parentItemID) REFERENCES items(itemID) ON DELETE CASCADE);
CREATE TABLE tags (tagID INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE itemTags (itemID INT NOT NULL, tagID INT NOT NULL, type INT NOT NULL, PRIMARY KEY (itemID, tagID),
    FOREIGN KEY (itemID) REFERENCES items(itemID) ON DELETE CASCADE,
    FOREIGN KEY (tagID) REFERENCES tags(tagID) ON DELETE CASCADE);
CREATE TABLE creators (creatorID INTEGER PRIMARY KEY, firstName TEXT, lastName TEXT, fieldMode INT,
    UNIQUE (lastName, firstName, fieldMode));
CREATE TABLE itemCreators (itemID INT NOT NULL, creatorID INT NOT NULL, creatorTypeID INT NOT NULL DEFAULT 1,
    orderIndex INT NOT NULL DEFAULT 0, PRIMARY KEY (itemID, creatorID, creatorTypeID, orderIndex),
    UNIQUE (itemID, orderIndex), FOREIGN KEY (itemID) REFERENCES items(itemID) ON DELETE CASCADE,
    FOREIGN KEY (creatorID) REFERENCES creators(creatorID) ON DELETE CASCADE,
    FOREIGN KEY (creatorTypeID) REFERENCES creatorTypes(creatorTypeID));
CREATE TABLE deletedItems (itemID INTEGER PRIMARY KEY, dateDeleted DEFAULT CURRENT_TIMESTAMP NOT NULL,
    FOREIGN KEY (itemID) REFERENCES items(itemID) ON DELETE CASCADE);
CREATE TABLE collections (collectionID INTEGER PRIMARY KEY, collectionName TEXT NOT NULL,
    parentCollectionID INT DEFAULT NULL, clientDateModified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    libraryID INT NOT NULL, key TEXT NOT NULL, version INT NOT NULL DEFAULT 0, synced INT NOT NULL DEFAULT 0,
    UNIQUE (libraryID, key));
CREATE TABLE collectionItems (collectionID INT NOT NULL, itemID INT NOT NULL, orderIndex INT NOT NULL DEFAULT 0,
    PRIMARY KEY (collectionID, itemID));
"""
# Ids as in Zotero's system.sql; preprint, repository and archiveID as added in Zotero 6.
ITEM_TYPES = {1: "note", 2: "book", 4: "journalArticle", 14: "attachment", 33: "conferencePaper", 37: "annotation",
              38: "preprint"}
FIELDS = {1: "url", 4: "volume", 5: "issue", 8: "publisher", 10: "pages", 12: "publicationTitle", 13: "ISSN",
          14: "date", 22: "extra", 26: "DOI", 27: "accessDate", 62: "libraryCatalog", 84: "conferenceName",
          90: "abstractNote", 110: "title", 114: "proceedingsTitle", 116: "shortTitle", 124: "repository",
          125: "archiveID"}
CREATOR_TYPES = {1: "author", 2: "contributor", 3: "editor"}


def zotero_date(parts: tuple[int, ...], shown: str) -> str:
    y, m, d = (*parts, 0, 0)[:3]
    return f"{y:04d}-{m:02d}-{d:02d} {shown}"


def build(path: Path) -> None:
    a = abstracts()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    con.executescript(SCHEMA)
    con.executemany("INSERT INTO version VALUES (?, ?)", [("userdata", 120), ("system", 33), ("globalSchema", 31)])
    con.execute("INSERT INTO libraries VALUES (1, 'user', 1, 1, 0, 0, 0, 0)")
    for table in ("itemTypes", "itemTypesCombined"):
        con.executemany(f"INSERT INTO {table} (itemTypeID, typeName{', custom' if 'Comb' in table else ''}) VALUES "
                        f"(?, ?{', 0' if 'Comb' in table else ''})", ITEM_TYPES.items())
    for table in ("fields", "fieldsCombined"):
        con.executemany(f"INSERT INTO {table} (fieldID, fieldName{', custom' if 'Comb' in table else ''}) VALUES "
                        f"(?, ?{', 0' if 'Comb' in table else ''})", FIELDS.items())
    con.executemany("INSERT INTO creatorTypes VALUES (?, ?)", CREATOR_TYPES.items())
    type_id = {v: k for k, v in ITEM_TYPES.items()}
    field_id = {v: k for k, v in FIELDS.items()}
    values: dict[str, int] = {}
    creators: dict[tuple[str, str, int], int] = {}
    tags: dict[str, int] = {}

    def item(item_id: int, kind: str, key: str, data: dict[str, str], authors=(), editors=(), tag_names=()):
        con.execute("INSERT INTO items (itemID, itemTypeID, dateAdded, dateModified, clientDateModified, libraryID,"
                    " key, version, synced) VALUES (?, ?, '2024-11-02 10:31:55', '2024-11-02 10:31:55', "
                    "'2024-11-02 10:31:55', 1, ?, 0, 0)", (item_id, type_id[kind], key))
        for name, value in data.items():
            if value not in values:
                values[value] = len(values) + 1
                con.execute("INSERT INTO itemDataValues VALUES (?, ?)", (values[value], value))
            con.execute("INSERT INTO itemData VALUES (?, ?, ?)", (item_id, field_id[name], values[value]))
        people = [(p, 1) for p in authors] + [(p, 3) for p in editors]
        for order, ((given, family), ctype) in enumerate(people):
            mode = 1 if not given else 0  # one-field names (an institution) keep everything in lastName
            cid = creators.setdefault((given, family, mode), len(creators) + 1)
            con.execute("INSERT OR IGNORE INTO creators VALUES (?, ?, ?, ?)", (cid, given, family, mode))
            con.execute("INSERT INTO itemCreators VALUES (?, ?, ?, ?)", (item_id, cid, ctype, order))
        for name in tag_names:
            tid = tags.setdefault(name, len(tags) + 1)
            con.execute("INSERT OR IGNORE INTO tags VALUES (?, ?)", (tid, name))
            con.execute("INSERT INTO itemTags VALUES (?, ?, 0)", (item_id, tid))

    p = PAPERS["leti"]
    item(1, "preprint", "ZK4G8QNT", {
        "title": p["title"], "abstractNote": a["leti"], "date": zotero_date(p["date"], "2023-05-17"),
        "url": "http://arxiv.org/abs/2305.10314", "DOI": "10.48550/arXiv.2305.10314", "repository": "arXiv",
        "archiveID": "arXiv:2305.10314", "libraryCatalog": "arXiv.org", "accessDate": "2024-11-02 10:31:55",
        "shortTitle": "LeTI", "extra": "arXiv:2305.10314 [cs]"}, p["authors"], tag_names=p["tags"])
    item(2, "attachment", "7HXRBT2C", {"title": "arXiv Fulltext PDF", "url": "https://arxiv.org/pdf/2305.10314",
                                       "accessDate": "2024-11-02 10:31:58"})
    con.execute("INSERT INTO itemAttachments VALUES (2, 1, 1, 'application/pdf', NULL, 'storage:Wang et al. - "
                "2023 - LeTI Learning to Generate from Textual Interactions.pdf', 0, NULL, NULL)")
    item(3, "note", "QW7S2F9A", {})
    con.execute("INSERT INTO itemNotes VALUES (3, 1, '<div data-schema-version=\"9\"><p>Read section 3 on the "
                "feedback format.</p></div>', 'Read section 3 on the feedback format.')")
    p = PAPERS["biomedical"]
    item(4, "journalArticle", "B3MZ8K1P", {
        "title": p["title"], "abstractNote": a["biomedical"], "date": zotero_date(p["date"], "2023-04-14"),
        "publicationTitle": "Patterns", "volume": "4", "issue": "4", "pages": "100729", "ISSN": "2666-3899",
        "DOI": p["doi"], "url": "https://www.sciencedirect.com/science/article/pii/S2666389923000697",
        "libraryCatalog": "ScienceDirect"}, p["authors"], tag_names=p["tags"])
    p = PAPERS["editing"]
    item(5, "preprint", "E9TNC4LX", {
        "title": p["title"], "abstractNote": a["editing"], "date": zotero_date(p["date"], "2024-02-09"),
        "url": "http://arxiv.org/abs/2402.06155", "DOI": "10.48550/arXiv.2402.06155", "repository": "arXiv",
        "archiveID": "arXiv:2402.06155"}, p["authors"])
    p = PAPERS["cubert"]
    item(6, "conferencePaper", "C8UB3RT0", {
        "title": p["title"], "abstractNote": a["cubert"], "date": zotero_date(p["date"], "July 2020"),
        "proceedingsTitle": p["venue"], "conferenceName": "International Conference on Machine Learning",
        "publisher": "PMLR", "pages": "5110-5121", "url": "https://proceedings.mlr.press/v119/kanade20a.html",
        "extra": "arXiv: 2001.00059"}, p["authors"], editors=[("Hal", "Daumé III"), ("Aarti", "Singh")],
        tag_names=p["tags"])
    p = PAPERS["unified"]
    item(7, "conferencePaper", "U2NIF13D", {
        "title": p["title"], "abstractNote": a["unified"], "date": zotero_date(p["date"], "2022"),
        "proceedingsTitle": p["venue"], "url": "https://openreview.net/forum?id=0RDcd5Axok",
        "extra": "arXiv: 2110.04366"}, p["authors"], tag_names=["adapters", "prefix tuning"])
    p = PAPERS["ernie"]
    item(8, "preprint", "ERN1E3P0", {
        "title": p["title"], "abstractNote": a["ernie"], "date": zotero_date(p["date"], "2021-07-05"),
        "archiveID": "arXiv:2107.02137"}, p["authors"])
    con.execute("INSERT INTO deletedItems VALUES (8, '2024-11-02 11:00:00')")
    item(9, "book", "DLB00K16", {"title": "Deep Learning", "date": zotero_date((2016,), "2016"),
                                  "publisher": "MIT Press"},
         [("Ian", "Goodfellow"), ("Yoshua", "Bengio"), ("Aaron", "Courville")])
    item(10, "journalArticle", "BIGSC1EN", {
        "title": "BLOOM: A 176B-Parameter Open-Access Multilingual Language Model",
        "date": zotero_date((2022, 11), "November 2022")}, [("", "BigScience Workshop")])
    con.commit()
    con.execute("VACUUM")
    con.close()


def build_malformed(directory: Path) -> None:
    """A SQLite file that is not a Zotero library, and a Zotero library cut short (a failed copy or disk)."""
    other = directory / "not_zotero.sqlite"
    other.unlink(missing_ok=True)
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT, title TEXT)")
    con.execute("INSERT INTO moz_places VALUES (1, 'https://arxiv.org/abs/2305.10314', 'LeTI')")
    con.commit()
    con.close()
    data = (HERE / "zotero.sqlite").read_bytes()
    (directory / "truncated_zotero.sqlite").write_bytes(data[: len(data) // 3])


if __name__ == "__main__":
    build(HERE / "zotero.sqlite")
    build_malformed(Path(__file__).parent / "malformed")
    # An attachment in storage/, as Zotero keeps one: ingest reads zotero.sqlite, never these files.
    storage = HERE / "storage" / "7HXRBT2C"
    storage.mkdir(parents=True, exist_ok=True)
    (storage / ".zotero-ft-cache").write_text("LeTI: Learning to Generate from Textual Interactions\n")
    (storage / "notes.txt").write_text("not a Daily Papers page: ingest must not read files under storage/\n")
