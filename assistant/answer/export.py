"""Answers taken away: Markdown (the answer with its [n] and a numbered reference list), BibTeX of the cited
papers (stable keys, the fields as imported), JSON, and a whole conversation as Markdown.

Pure functions over an `Answer` and the stored records of its papers (`PaperStore.first_chunks`); writing files
and serving downloads are the callers' business.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence

from assistant.types import Answer, Source, StoredChunk

FORMATS = ("text", "markdown", "bibtex", "json")
_STOP = {"a", "an", "the", "on", "of", "in", "for", "to", "and", "with", "from", "towards", "toward", "is", "are"}


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def citation_key(paper: StoredChunk | None, source: Source) -> str:
    """surname + year + first significant title word, lowercase ASCII: "vaswani2017attention". The same paper
    always gets the same key (before de-duplication suffixes)."""
    surname = ""
    if paper and paper.authors:
        words = re.findall(r"[A-Za-z]+", _ascii(paper.authors[0].split(",")[0] if "," in paper.authors[0]
                                                else paper.authors[0].split()[-1]))
        surname = words[-1].lower() if words else ""
    year = str(paper.year) if paper and paper.year else ""
    title_words = [w.lower() for w in re.findall(r"[A-Za-z0-9]+", _ascii(source.title))]
    word = next((w for w in title_words if w not in _STOP), "paper")
    return f"{surname}{year}{word}" or "paper"


def cited_sources(answer: Answer) -> list[Source]:
    """The sources the answer cites, in marker order; all of them for a refusal (its "closest papers")."""
    cited = {c.n for c in answer.citations}
    return [s for s in answer.sources if s.n in cited] if cited else []


def keys_for(sources: Sequence[Source], papers: Mapping[str, StoredChunk]) -> dict[int, str]:
    """[n] -> citation key, unique within the answer (a second "smith2023deep" becomes "smith2023deepb")."""
    keys: dict[int, str] = {}
    for s in sources:
        key = base = citation_key(papers.get(s.paper_id), s)
        suffix = ord("b")
        while key in keys.values():
            key, suffix = f"{base}{chr(suffix)}", suffix + 1
        keys[s.n] = key
    return keys


def _bib_value(text: str) -> str:
    """A field value safe inside braces: LaTeX's special characters escaped, braces balanced."""
    text = re.sub(r"\s+", " ", text).strip()
    text = text.replace("\\", r"\textbackslash{}")
    for ch in "&%$#_":
        text = text.replace(ch, "\\" + ch)
    return text.replace("{", r"\{").replace("}", r"\}").replace(r"\textbackslash\{\}", r"\textbackslash{}")


def bibtex_entry(key: str, source: Source, paper: StoredChunk | None) -> str:
    fields: list[tuple[str, str]] = [("title", source.title)]
    if paper:
        if paper.authors:
            fields.append(("author", " and ".join(paper.authors)))
        if paper.year:
            fields.append(("year", str(paper.year)))
        if paper.venue:
            fields.append(("journal", paper.venue))
        if paper.doi:
            fields.append(("doi", paper.doi))
        if paper.arxiv_id:
            fields += [("eprint", paper.arxiv_id), ("archiveprefix", "arXiv")]
        if paper.keywords:
            fields.append(("keywords", ", ".join(paper.keywords)))
        if paper.abstract:
            fields.append(("abstract", paper.abstract))
    if source.url:
        fields.append(("url", source.url))
    kind = "article" if paper and paper.venue else "misc"
    body = ",\n".join(f"  {name} = {{{_bib_value(value)}}}" for name, value in fields)
    return f"@{kind}{{{key},\n{body}\n}}\n"


def to_bibtex(answer: Answer, papers: Mapping[str, StoredChunk]) -> str:
    """The cited papers as BibTeX ("" when the answer cites none)."""
    sources = cited_sources(answer)
    keys = keys_for(sources, papers)
    return "\n".join(bibtex_entry(keys[s.n], s, papers.get(s.paper_id)) for s in sources)


def _reference(source: Source, paper: StoredChunk | None) -> str:
    who = ""
    if paper and paper.authors:
        who = paper.authors[0] + (" et al." if len(paper.authors) > 1 else "")
        who += " " if who.endswith(".") else ". "
    when = f" ({paper.year})" if paper and paper.year else ""
    venue = f" *{paper.venue}*." if paper and paper.venue else ""
    link = f" <{source.url}>" if source.url else ""
    return f"{who}{source.title}{when}.{venue}{link}"


def to_markdown(answer: Answer, papers: Mapping[str, StoredChunk], *, heading: str = "##") -> str:
    """The question as a heading, the answer as written (its [n] kept), then the numbered references it cites."""
    out = [f"{heading} {answer.question}", "", answer.answer.strip(), ""]
    if answer.filters:
        out += [f"*Filtered: {answer.filters}.*", ""]
    cited = cited_sources(answer)
    if cited:
        out += ["**References**", ""]
        out += [f"[{s.n}] {_reference(s, papers.get(s.paper_id))}" for s in cited]
        out.append("")
    out.append(f"*{answer.model} · collection {answer.collection}*")
    return "\n".join(out) + "\n"


def conversation_markdown(answers: Sequence[Answer], papers: Mapping[str, StoredChunk],
                          title: str = "Paper Assistant conversation") -> str:
    parts = [f"# {title}", ""]
    parts += [to_markdown(a, papers, heading="##") for a in answers]
    return "\n".join(parts)


def to_json(answer: Answer) -> str:
    return json.dumps(answer.to_dict(), indent=2, ensure_ascii=False) + "\n"


def answer_from_dict(data: Mapping[str, object]) -> Answer:
    """An answer back from `Answer.to_dict()` (a saved chat); a KeyError or TypeError when it is not one."""
    from assistant.types import Citation, Timings

    citations = [Citation(**c) for c in data["citations"]]  # type: ignore[union-attr]
    sources = [Source(**s) for s in data["sources"]]  # type: ignore[union-attr]
    timings = Timings(**data.get("timings") or {})  # type: ignore[arg-type]
    return Answer(question=str(data["question"]), answer=str(data["answer"]), refused=bool(data["refused"]),
                  citations=citations, sources=sources, model=str(data["model"]), timings=timings,
                  filters=str(data.get("filters") or ""), collection=str(data.get("collection") or "default"))
