"""The "Review table" tab and the "More like this" lists of the Papers tab and the sources panel.

Papers are gathered from a search, from the papers an answer to a question would cite, from the last chat
answer's sources, or picked by title; columns are free text. Rows stream into the table as they finish, with
progress, and the finished table is offered as CSV and Markdown files. The turns are plain functions over the
app (`make_table`, `gather`, `more_like`), tested without Gradio; the `*_ui` functions only lay out components
inside the page being built and wire them to those functions.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from assistant.answer.table import MAX_PAPERS, Table, TableError, clean_columns, pick
from assistant.app import App
from assistant.config import ConfigError
from assistant.llms.base import BackendError, GenerationError
from assistant.search.related import related
from assistant.search.store import StoreError
from assistant.ui import render

if TYPE_CHECKING:
    import gradio as gr

DEFAULT_COLUMNS = "task, dataset, model size, main result"
RELATED_K = 5
Chosen = dict[str, str]  # paper id -> title, in the order added


def split_columns(text: str) -> list[str]:
    """"task, dataset" or one column a line."""
    return [c.strip() for c in re.split(r"[,\n;]", text or "") if c.strip()]


def gather(app: App, chosen: Chosen, *, search: str = "", question: str = "", urls: dict[int, str] | None = None,
           ids: list[str] | None = None, k: int | None = None) -> tuple[Chosen, str]:
    """The chosen papers with those of a search, of an answer's sources to `question` (retrieval only), of the
    last answer (`urls`: its [n] -> paper URL), or given by id (the paper open in the Papers tab); and a line
    saying what was added."""
    found: list[tuple[str, str]] = []
    if ids:
        firsts = app.store.first_chunks([i for i in ids if i])
        found = [(pid, firsts[pid].title) for pid in ids if pid in firsts]
    elif search.strip():
        found = [(h.paper_id, h.title) for h in app.retriever.search(search.strip(), k or 10)]
    elif question.strip():
        hits = app.pipeline.retrieve(question.strip(), app.pipeline.options(k=k)).hits
        found = [(h.paper_id, h.title) for h in hits]
    elif urls:
        by_url = {c.url: (c.paper_id, c.title) for c in app.store.iter_chunks() if c.position == 0}
        found = [by_url[u] for _, u in sorted(urls.items()) if u in by_url]
    new = {pid: title for pid, title in found if pid not in chosen}
    merged = {**chosen, **new}
    if len(merged) > MAX_PAPERS:
        merged = dict(list(merged.items())[:MAX_PAPERS])
        return merged, f"Added {len(new)} paper(s); a table holds {MAX_PAPERS}, so the last ones were left out."
    return merged, f"Added {len(new)} paper(s)." if found else "Nothing found to add."


def _files(table: Table) -> list[str]:
    """The table as CSV and Markdown files in Gradio's cache directory (the only one it serves)."""
    from assistant.ui.serve import TEMP_DIR

    directory = TEMP_DIR / "tables" / uuid.uuid4().hex
    directory.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = directory / "review-table.csv", directory / "review-table.md"
    csv_path.write_text(table.to_csv(), encoding="utf-8")
    md_path.write_text(table.to_markdown(), encoding="utf-8")
    return [str(csv_path.resolve()), str(md_path.resolve())]


def make_table(app: App, paper_ids: list[str], columns_text: str, backend: str) -> Iterator[tuple[str, str, Any]]:
    """(table HTML, progress line, files or None) after each row; errors end it with a line saying why."""
    try:
        columns = clean_columns(split_columns(columns_text))
        papers = pick(app.store, paper_ids or [])
        options = app.pipeline.options(backend=backend)
    except (TableError, ConfigError, StoreError) as e:
        yield render.table_html([], [], str(e)), f"⚠️ {render.escape_md(str(e))}", None
        return
    rows = []
    yield render.table_html(columns, [], "Working…"), f"0 of {len(papers)} rows…", None
    try:
        for row in app.tables.rows(papers, columns, options):
            rows.append(row)
            total = sum(r.seconds for r in rows)
            yield (render.table_html(columns, rows), f"{len(rows)} of {len(papers)} rows · {total:.1f} s "
                   f"({row.model})", None)
    except (BackendError, GenerationError) as e:
        yield (render.table_html(columns, rows), f"⚠️ The model failed ({backend}): {render.escape_md(str(e))}; "
               f"{len(rows)} row(s) done.", None)
        return
    table = Table(columns, rows, rows[0].model if rows else backend)
    yield render.table_html(columns, rows), f"Done: {len(rows)} rows in {sum(r.seconds for r in rows):.1f} s.", \
        _files(table)


def more_like(app: App, paper_id: str | None, k: int = RELATED_K, collection: str | None = None) -> str:
    """The papers most like `paper_id` in `collection` (default: the app's)."""
    if not paper_id:
        return render.related_html(None, [])
    try:
        retriever = app.collections.retriever(collection)
        paper = retriever.store.paper(paper_id)
        hits = related(retriever, paper_id, app.pipeline.options(k=k, collection=retriever.store.collection_label))
    except StoreError as e:
        return f"<p>{html.escape(str(e))}</p>"
    return render.related_html(paper, hits)


def source_choices(app: App, urls: dict[int, str] | None) -> list[tuple[str, str]]:
    """(label, paper id) for each source of the last answer, from its [n] -> URL."""
    if not urls:
        return []
    by_url = {c.url: (c.paper_id, c.title) for c in app.store.iter_chunks() if c.position == 0}
    return [(f"[{n}] {by_url[u][1]}", by_url[u][0]) for n, u in sorted(urls.items()) if u in by_url]


# -- layout (inside `with gr.Blocks()`) -----------------------------------------------------------------------

def more_like_this_ui(app: App, pick_box: gr.Dropdown, collection_box: gr.Dropdown | None = None) -> None:
    """Under the Papers tab's paper view: the papers most like the one picked, in the tab's collection."""
    import gradio as gr

    out = gr.HTML(render.related_html(None, []), elem_id="pa-related")
    button = gr.Button("More like this", size="sm", elem_id="pa-more")
    if collection_box is None:
        button.click(lambda pid: more_like(app, pid), pick_box, out, api_name="related")
    else:
        button.click(lambda pid, name: more_like(app, pid, collection=name), [pick_box, collection_box], out,
                     api_name="related")


def sources_related_ui(app: App, links: gr.State) -> None:
    """Under the sources panel: "More like this" for any source of the last answer."""
    import gradio as gr

    with gr.Accordion("More like this", open=False):
        which = gr.Dropdown([], label="A source of the last answer", elem_id="pa-src-pick")
        out = gr.HTML("", elem_id="pa-src-related")
    links.change(lambda urls: gr.update(choices=source_choices(app, urls), value=None), links, which,
                 api_name=False)
    which.change(lambda pid: more_like(app, pid) if pid else "", which, out, api_name=False)


def review_table_ui(app: App, links: gr.State, backend_names: list[str], open_paper: gr.Dropdown) -> None:
    """The "Review table" tab; `open_paper` is the Papers tab's choice of paper."""
    import gradio as gr

    with gr.Tab("Review table"):
        chosen = gr.State({})
        with gr.Row():
            search = gr.Textbox(placeholder="Search papers to add…", show_label=False, scale=3, elem_id="pa-t-search")
            add_search = gr.Button("Add from search", scale=1)
        with gr.Row():
            question = gr.Textbox(placeholder="…or a question: add the papers its answer would cite", scale=3,
                                  show_label=False, elem_id="pa-t-question")
            add_question = gr.Button("Add its papers", scale=1)
        with gr.Row():
            add_answer = gr.Button("Make a table of the last answer's papers", size="sm", elem_id="pa-t-answer")
            add_open = gr.Button("Add the paper open in the Papers tab", size="sm", elem_id="pa-t-open")
        papers = gr.Dropdown([], value=[], multiselect=True, label=f"Papers (up to {MAX_PAPERS})",
                             elem_id="pa-t-papers")
        added = gr.Markdown("")
        columns = gr.Textbox(DEFAULT_COLUMNS, label="Columns (comma-separated, free text)", elem_id="pa-t-columns")
        backend = gr.Dropdown(backend_names, value=app.backends.default, label="Model / backend",
                              elem_id="pa-t-backend")
        run = gr.Button("Make table", variant="primary", elem_id="pa-t-run")
        progress = gr.Markdown("", elem_id="pa-t-progress")
        table = gr.HTML(render.table_html([], []), elem_id="pa-t-table")
        files = gr.File(label="Download (CSV, Markdown)", file_count="multiple", interactive=False)

        def adding(state: Chosen, selected: list[str], **source: Any) -> tuple[Any, Chosen, str]:
            # Papers taken off the dropdown leave the choice too.
            kept = {pid: t for pid, t in (state or {}).items() if pid in (selected or [])}
            merged, line = gather(app, kept, **source)
            return gr.update(choices=[(t, p) for p, t in merged.items()], value=list(merged)), merged, line

        outs = [papers, chosen, added]
        add_search.click(lambda s, sel, q: adding(s, sel, search=q), [chosen, papers, search], outs, api_name=False)
        add_question.click(lambda s, sel, q: adding(s, sel, question=q), [chosen, papers, question], outs,
                           api_name=False)
        add_answer.click(lambda s, sel, urls: adding(s, sel, urls=urls), [chosen, papers, links], outs,
                         api_name=False)
        add_open.click(lambda s, sel, pid: adding(s, sel, ids=[pid] if pid else []), [chosen, papers, open_paper],
                       outs, api_name=False)
        def making(ids: list[str], cols: str, name: str) -> Iterator[tuple[str, str, Any]]:
            yield from make_table(app, ids, cols, name)

        run.click(making, [papers, columns, backend], [table, progress, files], api_name="table")
