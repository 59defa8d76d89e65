"""Turns answers and sources into what the chat page shows: escaped text, [n] links, the sources panel.

Every piece of corpus or model text passes through `html.escape` here, and the markdown that could make a link,
an image or a link definition is backslash-escaped, so a title or abstract holding `<script>` or `[x](javascript:…)`
is shown as text. Only http(s) URLs are ever made clickable. No Gradio imports: plain strings.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from assistant.types import Answer, Citation, SearchHit, Source, StoredChunk

if TYPE_CHECKING:
    from assistant.answer.table import Row
    from assistant.llms.timing import WarmState

_MARKER = re.compile(r"\\\[(\d+)\\\]")  # an [n] marker after escape_md
_ANCHOR = re.compile(r"\[\[(\d+)\]\]\(#src-\d+\)")  # a marker linked to the sources panel
_MD_LINK_CHARS = re.compile(r"([\\\[\]])")


def safe_url(url: str) -> str | None:
    return url if re.match(r"^https?://[^\s\"'<>()\\]+$", url or "") else None


def escape_md(text: str) -> str:
    """Escape HTML and the brackets that form markdown links, images and link definitions; keep tables, lists
    and emphasis. `[1]` stays visible as [1]."""
    return _MD_LINK_CHARS.sub(r"\\\1", html.escape(text, quote=False))


def _separate_tables(text: str) -> str:
    """A blank line around each table: in GFM a text line right after a table becomes one more (one-cell) row."""
    out: list[str] = []
    for line in text.split("\n"):
        prev = out[-1].strip() if out else ""
        if prev and line.strip() and prev.startswith("|") != line.lstrip().startswith("|"):
            out.append("")
        out.append(line)
    return "\n".join(out)


def _marker_link(n: int, url: str | None) -> str:
    # Balanced brackets inside a link's text are allowed: every other bracket is escaped, so only ours link.
    return f"[[{n}]]({url})" if url else f"\\[{n}\\]"


def answer_markdown(answer: Answer) -> str:
    """The checked answer with each [n] linked to source n in the sources panel, then a line of notes."""
    valid = {s.n for s in answer.sources}
    body = _MARKER.sub(lambda m: _marker_link(int(m.group(1)), f"#src-{m.group(1)}")
                       if int(m.group(1)) in valid else "", escape_md(_separate_tables(answer.answer)))
    notes = []
    if answer.refused:
        notes.append("No source answers this; the closest papers are listed under Sources.")
    elif answer.unsupported:
        notes.append(f"{len(answer.unsupported)} sentence(s) are not supported by the sources.")
    t = answer.timings
    first = f" · first token {t.first_token:.1f}s" if t.first_token is not None else ""
    notes.append(f"{html.escape(answer.model)} · {t.total:.1f}s{first}")
    return body + "\n\n" + "\n\n".join(f"<sub>{n}</sub>" for n in notes)


def freeze_links(markdown: str, urls: dict[int, str]) -> str:
    """An earlier answer's [n] links, pointed at the papers themselves: the panel now shows another answer's
    sources. urls: source number -> paper URL of that earlier answer; a marker without a safe URL loses its link."""
    return _ANCHOR.sub(lambda m: _marker_link(int(m.group(1)), safe_url(urls.get(int(m.group(1)), ""))), markdown)


DRAFT_LABEL = "Draft, not yet checked against the sources: it may still be withdrawn."
DRAFT_MIN_CHARS = 40  # below this the draft shows only its label: a few words read as an answer, not a draft


def streaming_markdown(text: str) -> str:
    """The model's text while it streams: visibly an unchecked draft (a label, then the text greyed in a quote
    block, which no answer can produce since `>` is escaped) until the checked answer or the refusal replaces it."""
    label = f"<sub>⏳ {DRAFT_LABEL}</sub>"
    if len(text.strip()) < DRAFT_MIN_CHARS:
        return f"{label}\n\n> ▌"
    quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in escape_md(_separate_tables(text)).split("\n"))
    return f"{label}\n\n{quoted} ▌"


PREVIEW_LABEL = "Preview: the sources' own sentences that best match the question, until the model's answer is ready."
STOPPED_LABEL = "Stopped."


def _linked_markers(escaped: str) -> str:
    """An escaped text's [n] markers as links to source n in the panel."""
    return _MARKER.sub(lambda m: _marker_link(int(m.group(1)), f"#src-{m.group(1)}"), escaped)


def _preview_block(preview: str | None) -> str:
    if not preview:
        return ""
    return f"\n\n<sub>🔎 {PREVIEW_LABEL}</sub>\n\n{_linked_markers(escape_md(preview))}"


def working_markdown(status: str, preview: str | None, draft: str) -> str:
    """The answer bubble while the pipeline works: the status line ("Reading 5 sources with … · 4 s of about
    12 s"), the preview with its [n] linked, and the model's draft (as `streaming_markdown`) once it writes."""
    out = f"<sub>⏳ {html.escape(status)}</sub>" + _preview_block(preview)
    if draft:
        out += "\n\n" + streaming_markdown(draft)
    return out


def stopped_markdown(seconds: float, preview: str | None) -> str:
    """A turn the user stopped: says so, keeps the preview; the unchecked draft is dropped."""
    return (f"<sub>⏹ {STOPPED_LABEL} The model was stopped after {seconds:.0f} s; the sources found are kept under "
            "Sources. Ask again for the model's answer.</sub>" + _preview_block(preview))


def model_status(state: WarmState) -> str:
    """The page's line about the configured model while it loads at start-up, once it is ready, or why not."""
    name = html.escape(state.model)
    if state.phase == "loading":
        about = f", about {state.expected:.0f} s" if state.expected else ""
        return (f"<sub>⏳ The model **{name}** is loading ({state.elapsed:.0f} s{about}); a question asked now "
                "waits for it.</sub>")
    if state.phase == "ready":
        took = f" (loaded in {state.elapsed:.1f} s)" if state.elapsed else ""
        return f"<sub>✅ Model **{name}** ready{took}.</sub>"
    if state.phase == "failed":
        return f"<sub>❌ The model **{name}** did not load: {escape_md(state.detail)}</sub>"
    return ""


def error_markdown(message: str) -> str:
    return f"⚠️ {escape_md(message)}"


def _meta_line(published: str | None, author_count: int | None) -> str:
    parts = []
    if published:
        parts.append(html.escape(published))
    if author_count:
        parts.append(f"{author_count} author{'s' if author_count != 1 else ''}")
    return " · ".join(parts)


def _title_link(title: str, url: str) -> str:
    link = safe_url(url)
    text = html.escape(title)
    if not link:
        return f"<b>{text}</b>"
    return f'<a href="{html.escape(link)}" target="_blank" rel="noopener noreferrer"><b>{text}</b></a>'


def _status(n: int, answer: Answer | None) -> str:
    if answer is None:
        return ""
    cited = {c.n: c for c in answer.citations}
    if n not in cited:
        return ' · <span class="pa-uncited">not cited</span>'
    if cited[n].supported:
        return f' · <span class="pa-cited">cited as [{n}]</span>'
    return f' · <span class="pa-unsupported">cited as [{n}], not supported by this snippet</span>'


def highlight(text: str, evidence: list[str], n: int) -> str:
    """The escaped text with each evidence sentence in a <mark> of class pa-ev (pa-ev-n for source n); the
    sentences are found as the citation checker took them from this very text."""
    spans: list[tuple[int, int]] = []
    for sentence in evidence:
        start = text.find(sentence)
        if start >= 0 and not any(a < start + len(sentence) and start < b for a, b in spans):
            spans.append((start, start + len(sentence)))
    out, last = [], 0
    for a, b in sorted(spans):
        out.append(html.escape(text[last:a]))
        out.append(f'<mark class="pa-ev pa-ev-{n}" title="what [{n}] is cited for">{html.escape(text[a:b])}</mark>')
        last = b
    return "".join(out) + html.escape(text[last:])


def sources_html(sources: list[Source], answer: Answer | None = None, note: str = "") -> str:
    """The sources panel: each paper with its [n], link, date/authors, snippet, score and citation status; the
    sentences a citation rests on are marked in its snippet (lit when its [n] is hovered or clicked)."""
    if not sources:
        return f'<div class="pa-sources"><p>{html.escape(note or "Sources appear here.")}</p></div>'
    items = []
    cited: dict[int, Citation] = {c.n: c for c in answer.citations} if answer else {}
    for s in sources:
        meta = _meta_line(s.published, s.author_count)
        snippet = highlight(s.text, cited[s.n].evidence, s.n) if s.n in cited else html.escape(s.text)
        items.append(
            f'<li id="src-{s.n}" class="pa-source"><span class="pa-n">[{s.n}]</span> {_title_link(s.title, s.url)}'
            f'<div class="pa-meta">{meta + " · " if meta else ""}score {s.score:.3f}{_status(s.n, answer)}</div>'
            f'<div class="pa-snippet">{snippet}</div></li>'
        )
    head = f"<p>{html.escape(note)}</p>" if note else ""
    return f'<div class="pa-sources">{head}<ol class="pa-list">{"".join(items)}</ol></div>'


def paper_list_html(hits: list[SearchHit]) -> str:
    if not hits:
        return "<p>No papers found.</p>"
    rows = [
        f'<li class="pa-paper">{_title_link(h.title, h.url)}<div class="pa-meta">'
        f"{_meta_line(h.published, h.author_count)}</div></li>"
        for h in hits
    ]
    return f'<ol class="pa-list">{"".join(rows)}</ol>'


def related_html(paper: StoredChunk | None, hits: list[SearchHit]) -> str:
    """The papers most like one, with their similarity."""
    if paper is None:
        return "<p>Choose a paper.</p>"
    if not hits:
        return f"<p>No other paper is like {html.escape(paper.title)}.</p>"
    rows = [f'<li class="pa-paper">{_title_link(h.title, h.url)}<div class="pa-meta">similarity '
            f'{h.similarity if h.similarity is not None else h.score:.3f}'
            f'{" · " + m if (m := _meta_line(h.published, h.author_count)) else ""}</div></li>' for h in hits]
    return (f'<div class="pa-related"><p>Papers like <b>{html.escape(paper.title)}</b>:</p>'
            f'<ol class="pa-list">{"".join(rows)}</ol></div>')


def table_html(columns: list[str], rows: list[Row], note: str = "") -> str:
    """A review table: a row per paper, each stated cell with its [n] and its evidence sentence on hover and in
    a fold under the table; "not stated" greyed, a refused value named in its tooltip."""
    if not rows:
        return f'<div class="pa-table"><p>{html.escape(note or "The table appears here.")}</p></div>'
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body, notes = [], []
    for r in rows:
        cells = []
        for c in r.cells:
            if c.stated:
                tip = html.escape(" ".join(c.evidence), quote=True)
                cells.append(f'<td title="{tip}">{html.escape(c.value)} <a href="#tev-{r.n}">[{r.n}]</a></td>')
            else:
                why = html.escape(f"refused: {c.refused} ({c.proposed})" if c.refused else "the abstract does not "
                                  "state it", quote=True)
                cells.append(f'<td class="pa-ns" title="{why}">not stated</td>')
        body.append(f"<tr><td>[{r.n}] {_title_link(r.title, r.url)}</td>{''.join(cells)}</tr>")
        quotes = "".join(f"<li><i>{html.escape(c.column)}</i>: {html.escape(' '.join(c.evidence))}</li>"
                         for c in r.cells if c.stated)
        notes.append(f'<li id="tev-{r.n}">[{r.n}] {html.escape(r.title)}<ul>{quotes}</ul></li>')
    lead = f"<p>{html.escape(note)}</p>" if note else ""
    return (f'<div class="pa-table">{lead}<table><thead><tr><th>Paper</th>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table><details><summary>Evidence</summary>'
            f'<ol class="pa-list">{"".join(notes)}</ol></details></div>')


def paper_html(paper: StoredChunk | None) -> str:
    """One paper from the store (its first chunk): linked title, date/authors, the whole abstract."""
    if paper is None:
        return "<p>Choose a paper.</p>"
    parts = []
    if paper.authors:
        shown = ", ".join(paper.authors[:8]) + (f" and {len(paper.authors) - 8} more" if len(paper.authors) > 8 else "")
        parts.append(html.escape(shown))
    elif paper.author_count:
        parts.append(f"{paper.author_count} author{'s' if paper.author_count != 1 else ''}")
    if paper.published or paper.year:
        parts.append(html.escape(paper.published or str(paper.year)))
    if paper.venue:
        parts.append(f"<i>{html.escape(paper.venue)}</i>")
    if paper.doi:
        parts.append(f"DOI {html.escape(paper.doi)}")
    if paper.keywords:
        parts.append("keywords: " + html.escape(", ".join(paper.keywords)))
    return (f'<div class="pa-paper-full"><h3>{_title_link(paper.title, paper.url)}</h3>'
            f'<div class="pa-meta">{" · ".join(parts)}</div><p>{html.escape(paper.abstract or paper.text)}</p></div>')


HIGHLIGHT_UP_TO = 50  # sources whose evidence lights up when their [n] is hovered in the chat
CSS = """
.pa-snippet mark.pa-ev { background: transparent; border-bottom: 2px solid rgba(234, 179, 8, 0.8); color: inherit; }
.pa-source:target mark.pa-ev { background: rgba(255, 220, 0, 0.55); }
.pa-table table { border-collapse: collapse; font-size: 0.9em; }
.pa-table td, .pa-table th { border: 1px solid rgba(128, 128, 128, 0.4); padding: 0.3em 0.5em; vertical-align: top; }
.pa-ns { opacity: 0.55; font-style: italic; }
.pa-sources ol.pa-list { list-style: none; padding-left: 0; }
.pa-list { padding-left: 1.2em; }
.pa-source, .pa-paper { margin-bottom: 0.8em; }
.pa-source:target { background: rgba(255, 220, 0, 0.25); }
.pa-meta { font-size: 0.85em; opacity: 0.75; }
.pa-snippet { font-size: 0.9em; margin-top: 0.2em; }
.pa-n { font-weight: bold; }
.pa-cited { color: #15803d; }
.pa-unsupported { color: #b45309; }
#pa-chat table td:first-child, #pa-chat table th:first-child { min-width: 6.5em; }
#pa-chat blockquote { opacity: 0.55; font-style: italic; }
"""
# A marker hovered in the chat lights its source's evidence in the panel: CSS alone, as the page holds no script.
CSS += "".join(f'body:has(#pa-chat a[href="#src-{n}"]:hover) #src-{n} mark.pa-ev {{ background: rgba(255, 220, 0, '
               f"0.55); }}\n" for n in range(1, HIGHLIGHT_UP_TO + 1))
