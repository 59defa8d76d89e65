"""Writes the sample exports in tests/data/ in the shape each tool writes them: Zotero 7's BibTeX (tab-indented,
capitalised words braced, non-ASCII as LaTeX accents), RIS and CSL JSON exports, and an arXiv API Atom
response. Run from the repository root: python -m tests.data.make_exports (the tests read the files, not this)."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

from assistant.ingest.corpus import read_paths
from tests.data.papers import PAPERS

HERE = Path(__file__).parent
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_ACCENTS = {"\u0308": '"', "\u0301": "'", "\u0300": "`", "\u0302": "^", "\u0303": "~", "\u0327": "c", "\u030c": "v"}
_SPECIAL = {"%": "\\%", "&": "\\&", "_": "\\_", "#": "\\#", "$": "\\$", ">": "{\\textgreater}",
            "<": "{\\textless}", "“": "{\\textquotedblleft}", "”": "{\\textquotedblright}", "’": "{\\textquoteright}"}


def abstracts() -> dict[str, str]:
    by_title = {p.title: p.abstract for p in read_paths([Path("data/corpus")]).papers}
    return {key: by_title[p["title"]] for key, p in PAPERS.items() if p["title"] in by_title}


def latex(text: str) -> str:
    out = []
    for ch in text:
        base, *marks = unicodedata.normalize("NFD", ch)
        if marks and marks[0] in _ACCENTS:
            accent = _ACCENTS[marks[0]]
            out.append(f"{{\\{accent}{' ' if accent.isalpha() else ''}{base}}}")
        else:
            out.append(_SPECIAL.get(ch, ch))
    return "".join(out)


def bib_title(title: str) -> str:
    """Zotero braces each word that is capitalised (after the first) or has a capital inside it."""
    words = latex(title).split(" ")
    return " ".join(f"{{{w}}}" if any(c.isupper() for c in w[1:]) or (i and w[:1].isupper()) else w
                    for i, w in enumerate(words))


def bib_entry(key: str, kind: str, p: dict, abstract: str | None, extra: dict[str, str]) -> str:
    first = p["authors"][0][1].lower().replace(" ", "")
    word = next(w for w in p["title"].lower().replace(":", " ").split() if w not in ("a", "the", "on"))
    fields = {"title": bib_title(p["title"]), **extra}
    if abstract:
        fields["abstract"] = latex(abstract)
    fields["author"] = " and ".join(f"{latex(f)}, {latex(g)}" for g, f in p["authors"])
    date = p["date"]
    body = [f"\t{k} = {{{v}}}," for k, v in fields.items()]
    if len(date) > 1:
        body.append(f"\tmonth = {MONTHS[date[1] - 1]},")
    body.append(f"\tyear = {{{date[0]}}},")
    for k, v in (("note", f"arXiv:{p['arxiv']} [cs]" if kind == "misc" else ""),
                 ("keywords", ", ".join(p.get("tags", [])))):
        if v:
            body.append(f"\t{k} = {{{v}}},")
    key = unicodedata.normalize("NFKD", f"{first}_{word}_{date[0]}").encode("ascii", "ignore").decode()
    return f"@{kind}{{{key},\n" + "\n".join(body) + "\n}\n"


def write_bib(a: dict[str, str]) -> None:
    arxiv = lambda k: {"url": f"http://arxiv.org/abs/{PAPERS[k]['arxiv']}",  # noqa: E731
                       "doi": f"10.48550/arXiv.{PAPERS[k]['arxiv']}", "urldate": "2024-11-02",
                       "publisher": "arXiv"}
    entries = [
        bib_entry("leti", "misc", PAPERS["leti"], a["leti"], arxiv("leti")),
        bib_entry("composable", "inproceedings", PAPERS["composable"], a["composable"],
                  {"url": "https://aclanthology.org/2022.acl-long.125", "doi": PAPERS["composable"]["doi"],
                   "booktitle": PAPERS["composable"]["venue"], "publisher": "Association for Computational "
                   "Linguistics", "address": "Dublin, Ireland", "pages": "1778--1796"}),
        bib_entry("gloria", "misc", PAPERS["gloria"], a["gloria"], arxiv("gloria")),
        bib_entry("tulu", "misc", PAPERS["tulu"], a["tulu"], arxiv("tulu")),
        bib_entry("gpt3", "inproceedings", PAPERS["gpt3"], a["gpt3"],
                  {"url": "https://proceedings.neurips.cc/paper/2020/hash/1457c0d6bfcb4967418bfb8ac142f64a-"
                   "Abstract.html", "booktitle": PAPERS["gpt3"]["venue"], "publisher": "Curran Associates, Inc.",
                   "volume": "33", "pages": "1877--1901"}),
        bib_entry("sat", "misc", PAPERS["sat"], a["sat"], arxiv("sat")),
        "@book{jurafsky_speech_2009,\n\taddress = {Upper Saddle River, N.J},\n\tedition = {2nd ed},\n"
        "\tseries = {Prentice {Hall} series in artificial intelligence},\n\ttitle = {Speech and language "
        "processing: an introduction to natural language processing, computational linguistics, and speech "
        "recognition},\n\tisbn = {978-0-13-187321-6},\n\tshorttitle = {Speech and language processing},\n"
        "\tpublisher = {Pearson Prentice Hall},\n\tauthor = {Jurafsky, Dan and Martin, James H.},\n"
        "\tyear = {2009},\n}\n",
    ]
    (HERE / "library.bib").write_text("\n".join(entries), encoding="utf-8")


def ris_record(kind: str, p: dict, abstract: str | None, extra: list[tuple[str, str]]) -> str:
    lines = [("TY", kind), ("TI", p["title"])]
    lines += [("AU", f"{f}, {g}") for g, f in p["authors"]]
    if p.get("venue"):
        lines.append(("C3" if kind == "CONF" else "T2", p["venue"]))
    if abstract:
        lines.append(("AB", abstract))
    date = p["date"]
    lines.append(("DA", "/".join([str(date[0]), *(f"{d:02d}" for d in date[1:])]) + "/" * (4 - len(date))))
    lines += [("PY", str(date[0])), *extra]
    lines += [("KW", t) for t in p.get("tags", [])]
    return "\n".join(f"{t}  - {v}" for t, v in lines) + "\nER  - \n"


def write_ris(a: dict[str, str]) -> None:
    recs = [
        ris_record("GEN", PAPERS["leti"], a["leti"], [
            ("UR", "http://arxiv.org/abs/2305.10314"), ("DO", "10.48550/arXiv.2305.10314"),
            ("Y2", "2024/11/02/10:31:55"), ("PB", "arXiv"), ("N1", "arXiv:2305.10314 [cs]")]),
        ris_record("CONF", PAPERS["unified"], a["unified"], [
            ("UR", "https://openreview.net/forum?id=0RDcd5Axok"), ("Y2", "2024/11/02/10:33:10")]),
        ris_record("CONF", PAPERS["crosslingual"], a["crosslingual"], [
            ("SP", "15991"), ("EP", "16111"), ("CY", "Toronto, Canada"),
            ("PB", "Association for Computational Linguistics"), ("DO", PAPERS["crosslingual"]["doi"]),
            ("UR", "https://aclanthology.org/2023.acl-long.891")]),
        ris_record("JOUR", PAPERS["biomedical"], a["biomedical"], [
            ("VL", "4"), ("IS", "4"), ("SP", "100729"), ("SN", "2666-3899"), ("DO", PAPERS["biomedical"]["doi"]),
            ("UR", "https://www.sciencedirect.com/science/article/pii/S2666389923000697"), ("J2", "Patterns")]),
        ris_record("BOOK", {"title": "Natural Language Processing with Python", "date": (2009,),
                            "authors": [("Steven", "Bird"), ("Ewan", "Klein"), ("Edward", "Loper")]}, None,
                   [("CY", "Sebastopol, CA"), ("PB", "O'Reilly Media"), ("SN", "978-0-596-51649-9")]),
    ]
    (HERE / "library.ris").write_text("\n".join(recs), encoding="utf-8")


def csl_item(key: str, kind: str, p: dict, abstract: str | None, **extra: object) -> dict:
    item: dict = {"id": f"http://zotero.org/users/12345/items/{key.upper()[:8]:X<8}", "type": kind,
                  "title": p["title"]}
    if p.get("venue"):
        item["container-title"] = p["venue"]
    item.update(extra)
    if abstract:
        item["abstract"] = abstract
    item["author"] = [{"family": f, "given": g} for g, f in p["authors"]]
    item["issued"] = {"date-parts": [[str(d) for d in p["date"]]]}
    item["accessed"] = {"date-parts": [["2024", 11, 2]]}
    return item


def write_csl(a: dict[str, str]) -> None:
    items = [
        csl_item("vladapter", "paper-conference", PAPERS["vladapter"], a["vladapter"], page="5227-5237",
                 URL="https://openaccess.thecvf.com/content/CVPR2022/html/Sung_VL-Adapter_CVPR_2022_paper.html"),
        csl_item("editing", "article", PAPERS["editing"], a["editing"], publisher="arXiv", number="arXiv:2402.06155",
                 source="arXiv.org", URL="http://arxiv.org/abs/2402.06155", DOI="10.48550/arXiv.2402.06155",
                 note="arXiv:2402.06155 [cs]"),
        csl_item("skills", "paper-conference", PAPERS["skills"], a["skills"], publisher="PMLR", page="27011-27033",
                 URL="https://proceedings.mlr.press/v202/panigrahi23a.html"),
        csl_item("greaselm", "article", PAPERS["greaselm"], a["greaselm"], publisher="arXiv",
                 number="arXiv:2201.08860", URL="http://arxiv.org/abs/2201.08860",
                 DOI="10.48550/arXiv.2201.08860"),
        csl_item("gpt3", "paper-conference", PAPERS["gpt3"], a["gpt3"], page="1877-1901", volume="33",
                 publisher="Curran Associates, Inc."),
        {"id": "http://zotero.org/users/12345/items/DAILYPAP", "type": "webpage", "title": "Daily Papers - "
         "Hugging Face", "container-title": "Hugging Face", "URL": "https://huggingface.co/papers",
         "accessed": {"date-parts": [["2024", 11, 2]]}},
    ]
    (HERE / "library.json").write_text(json.dumps(items, indent="\t", ensure_ascii=False) + "\n", encoding="utf-8")


def atom_entry(p: dict, abstract: str, version: int = 1, doi: str | None = None, ref: str | None = None) -> str:
    date = "-".join([str(p["date"][0]), *(f"{d:02d}" for d in (*p["date"][1:], 1, 1)[:2])])
    words, lines, line = abstract.split(), [], ""
    for w in words:  # the API wraps summaries at about 80 columns
        if len(line) + len(w) > 78:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    summary = "\n".join(lines).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    authors = "".join(f"\n    <author>\n      <name>{g} {f}</name>\n    </author>" for g, f in p["authors"])
    extra = (f'\n    <arxiv:doi xmlns:arxiv="http://arxiv.org/schemas/atom">{doi}</arxiv:doi>' if doi else "")
    extra += (f'\n    <arxiv:journal_ref xmlns:arxiv="http://arxiv.org/schemas/atom">{ref}</arxiv:journal_ref>'
              if ref else "")
    cat = "cs.CL"
    return f"""  <entry>
    <id>http://arxiv.org/abs/{p['arxiv']}v{version}</id>
    <updated>{date}T17:59:01Z</updated>
    <published>{date}T17:59:01Z</published>
    <title>{p['title'].replace('&', '&amp;')}</title>
    <summary>  {summary}
</summary>{authors}{extra}
    <link href="http://arxiv.org/abs/{p['arxiv']}v{version}" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/{p['arxiv']}v{version}" rel="related" type="application/pdf"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="{cat}" scheme="http://arxiv.org/schemas/atom"/>
    <category term="{cat}" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.AI" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
"""


def write_atom(a: dict[str, str]) -> None:
    ids = ",".join(PAPERS[k]["arxiv"] for k in ("leti", "greaselm", "sat", "tulu", "crosslingual"))
    query = f"search_query%3D%26id_list%3D{ids.replace(',', '%2C')}%26start%3D0%26max_results%3D10"
    head = f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <link href="http://arxiv.org/api/query?{query}" rel="self" type="application/atom+xml"/>
  <title type="html">ArXiv Query: search_query=&amp;id_list={ids}&amp;start=0&amp;max_results=10</title>
  <id>http://arxiv.org/api/3lDhHqm0AOaSJB1ph9kRJ4GhkrE</id>
  <updated>2024-11-02T00:00:00-04:00</updated>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">5</opensearch:totalResults>
  <opensearch:startIndex xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">0</opensearch:startIndex>
  <opensearch:itemsPerPage xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">10</opensearch:itemsPerPage>
"""
    body = [atom_entry(PAPERS["leti"], a["leti"], 2), atom_entry(PAPERS["greaselm"], a["greaselm"], 2),
            atom_entry(PAPERS["sat"], a["sat"], 2), atom_entry(PAPERS["tulu"], a["tulu"], 2),
            atom_entry(PAPERS["crosslingual"], a["crosslingual"], 2, doi=PAPERS["crosslingual"]["doi"],
                       ref="ACL 2023")]
    (HERE / "arxiv.atom").write_text(head + "".join(body) + "</feed>\n", encoding="utf-8")


if __name__ == "__main__":
    found = abstracts()
    write_bib(found)
    write_ris(found)
    write_csl(found)
    write_atom(found)
