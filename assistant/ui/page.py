"""The Gradio page: `build_app(app)` returns a gr.Blocks over the app's pipeline; it never launches anything.

A chat tab (one turn is `chat.chat_turn`) with exports and saved chats, a collection and filters area, a settings
area that picks the backend (built on first use, never switched on its own), k, hybrid and rerank as per-request
options, and a Papers tab that browses a collection and adds files to it (`upload`). The "Review table" tab and
the "More like this" lists are laid out by `tables`. Launching, auth and binding live in `serve`; HTML and
markdown in `render`.
"""

from __future__ import annotations

import contextlib
import html
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.answer import export
from assistant.app import App
from assistant.ingest.corpus import EXTENSIONS
from assistant.llms.base import Message
from assistant.search.store import StoreError
from assistant.types import Answer, StoredChunk
from assistant.ui import render
from assistant.ui import tables as tables_ui
from assistant.ui.chat import chat_turn, reopen, status
from assistant.ui.chats import ChatFileError, list_chats, load_chat, save_chat
from assistant.ui.serve import TEMP_DIR
from assistant.ui.upload import UploadError, add_files

if TYPE_CHECKING:
    import gradio as gr

EXAMPLES = [
    "How does LeTI use error messages from the Python interpreter?",
    "Compare LoRAMoE and DePT.",
    "Which papers study catastrophic forgetting in language models?",
    "What does HFT do?",
]


def _write(directory: Path, name: str, text: str) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def build_app(app: App) -> gr.Blocks:
    """The page over `app.pipeline`; the backends in `app.backends` are built when first chosen."""
    # Gradio reads this at import and in each component, before launch() could set it.
    os.environ.setdefault("GRADIO_TEMP_DIR", str(TEMP_DIR.resolve()))
    import gradio as gr

    PROGRESS = gr.Progress(track_tqdm=True)  # the upload's progress bar follows ingest's own tqdm bar
    settings, backends = app.settings, app.backends
    shown = set(backends.registry.names(include_hidden=False))
    names = [n for n in backends.names() if n in shown or n == backends.default]
    chats_dir = settings.ui.chats_dir

    def collection_names() -> list[str]:
        try:
            return app.collections.names()
        except StoreError:
            return [app.collections.default]

    def papers_of(answers: list[Answer]) -> dict[str, StoredChunk]:
        """The stored records of the answers' papers (authors, year, venue, DOI), for their references."""
        out: dict[str, StoredChunk] = {}
        for name in dict.fromkeys(a.collection for a in answers):
            ids = [s.paper_id for a in answers if a.collection == name for s in a.sources]
            with contextlib.suppress(StoreError):  # a collection deleted since: references keep title and link
                out |= app.collections.retriever(name).store.first_chunks(ids)
        return out

    def export_files(answers: list[Answer], pick: int | None) -> tuple[Any, ...]:
        """The download buttons for answer `pick` (default the last) and for the whole conversation."""
        if not answers:
            return (gr.update(choices=[], value=None), gr.update(value=None, interactive=False),
                    gr.update(value=None, interactive=False), gr.update(value=None, interactive=False))
        i = len(answers) - 1 if pick is None or not 0 <= int(pick) < len(answers) else int(pick)
        papers = papers_of(answers)
        where = TEMP_DIR.resolve() / "exports" / uuid.uuid4().hex
        answer = answers[i]
        md = _write(where, f"answer-{i + 1}.md", export.to_markdown(answer, papers))
        bib_text = export.to_bibtex(answer, papers)
        bib = _write(where, f"answer-{i + 1}.bib", bib_text) if bib_text else None
        conv = _write(where, "conversation.md", export.conversation_markdown(answers, papers))
        choices = [(f"{n + 1}. {a.question[:70]}", n) for n, a in enumerate(answers)]
        return (gr.update(choices=choices, value=i), gr.update(value=md, interactive=True),
                gr.update(value=bib, interactive=bib is not None), gr.update(value=conv, interactive=True))

    running: dict[str, threading.Event] = {}  # browser session -> the cancel event of its turn in progress
    running_lock = threading.Lock()

    def respond(message: str, chat: list[dict], plain: list[Message], links: dict[int, str], answers: list[Answer],
                backend: str, k: int, hybrid: bool, rerank: bool, collection: str, years: str, author: str,
                venue: str, session: str | None = None) -> Iterator[tuple[Any, ...]]:
        # The pipeline waits in the app's one queue (App.gate) with the API and MCP, and says so in the status line.
        session = session or uuid.uuid4().hex
        cancel = threading.Event()
        with running_lock:
            running[session] = cancel
        try:
            for chat_value, plain_value, panel, new_links, new_answers in chat_turn(
                app.pipeline, message, chat or [], plain or [], links or {}, backend, k, hybrid, rerank,
                collection, years, author, venue, answers or [], cancel=cancel,
            ):
                yield chat_value, plain_value, new_links, new_answers, panel, ""
        finally:
            cancel.set()  # the page went away mid-turn: stop the model too
            with running_lock:
                if running.get(session) is cancel:
                    del running[session]

    def stop(session: str | None) -> None:
        with running_lock:
            cancel = running.get(session or "")
        if cancel is not None:
            cancel.set()

    def model_line() -> tuple[str, Any]:
        """The line under the title about the configured model (loading, ready, failed) and whether to keep
        refreshing it."""
        state = app.warmup.state()
        return render.model_status(state), gr.Timer(active=state.phase == "loading")

    def save(answers: list[Answer], saved_path: str | None) -> tuple[Any, ...]:
        try:
            path = save_chat(chats_dir, answers or [], Path(saved_path) if saved_path else None)
        except (ChatFileError, OSError) as e:
            return gr.update(), saved_path, f"⚠️ {render.escape_md(str(e))}"
        chats = list_chats(chats_dir)
        return (gr.update(choices=[(c.label, str(c.path)) for c in chats], value=str(path)), str(path),
                f"Saved as `{render.escape_md(path.name)}` in {render.escape_md(str(chats_dir))}.")

    def reopen_chat(path: str | None) -> tuple[Any, ...]:
        if not path:
            return (gr.update(),) * 5 + (None, "Choose a saved chat.")
        try:
            answers = load_chat(Path(path), chats_dir)
        except ChatFileError as e:
            return (gr.update(),) * 5 + (None, f"⚠️ {render.escape_md(str(e))}")
        chat, plain, panel, links, answers = reopen(answers)
        return chat, plain, links, answers, panel, path, f"Opened {len(answers)} question(s)."

    def refresh_chats() -> Any:
        return gr.update(choices=[(c.label, str(c.path)) for c in list_chats(chats_dir)])

    def browse(query: str, collection: str) -> tuple[str, Any]:
        query = (query or "").strip()
        if not query:
            return "<p>Type words from a title or topic.</p>", gr.update(choices=[], value=None)
        try:
            hits = app.collections.retriever(collection).search(query, 15)
        except StoreError as e:
            return f"<p>{html.escape(str(e))}</p>", gr.update(choices=[], value=None)
        return render.paper_list_html(hits), gr.update(choices=[(h.title, h.paper_id) for h in hits],
                                                       value=hits[0].paper_id if hits else None)

    def show_paper(paper_id: str | None, collection: str) -> str:
        try:
            store = app.collections.retriever(collection).store
        except StoreError:
            return render.paper_html(None)
        return render.paper_html(store.paper(paper_id) if paper_id else None)

    def upload(files: list[str] | None, collection: str, progress: Any = PROGRESS) -> tuple:
        name = (collection or "").strip()
        try:
            added = add_files(app, [Path(f) for f in files or []], name)
        except UploadError as e:
            return f"⚠️ {render.escape_md(str(e))}", gr.update(), gr.update()
        choices = collection_names()
        return (render.escape_md(added.message()), gr.update(choices=choices, value=name),
                gr.update(choices=choices))

    default = app.collections.default
    with gr.Blocks(title="Paper Assistant") as demo:
        gr.Markdown("## Paper Assistant\nAsk about the indexed papers; answers cite them as [n].")
        model_status = gr.Markdown(lambda: render.model_status(app.warmup.state()), elem_id="pa-model")
        model_timer = gr.Timer(1.0)
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(label="Conversation", height="64vh", elem_id="pa-chat", sanitize_html=True,
                                         buttons=["copy", "copy_all"])
                    question = gr.Textbox(placeholder="Ask a question about the papers…", show_label=False,
                                          elem_id="pa-question", submit_btn=True, max_length=4000)
                    gr.Examples(EXAMPLES, inputs=question, label="Examples")
                    with gr.Row():
                        stop_button = gr.Button("Stop", size="sm", variant="stop", elem_id="pa-stop")
                        clear = gr.Button("New conversation", size="sm")
                        save_button = gr.Button("Save chat", size="sm", elem_id="pa-save")
                    with gr.Accordion("Export and saved chats", open=False, elem_id="pa-export"):
                        pick = gr.Dropdown([], label="Answer to export", elem_id="pa-export-pick")
                        with gr.Row():
                            dl_answer = gr.DownloadButton("Answer (.md)", interactive=False, size="sm",
                                                          elem_id="pa-dl-answer")
                            dl_bib = gr.DownloadButton("References (.bib)", interactive=False, size="sm",
                                                       elem_id="pa-dl-bib")
                            dl_conv = gr.DownloadButton("Conversation (.md)", interactive=False, size="sm",
                                                        elem_id="pa-dl-conversation")
                        saved = gr.Dropdown([(c.label, str(c.path)) for c in list_chats(chats_dir)],
                                            label="Saved chats", elem_id="pa-saved")
                        open_button = gr.Button("Open saved chat", size="sm")
                        chat_note = gr.Markdown("", elem_id="pa-chat-note")
                with gr.Column(scale=2):
                    gr.Markdown("### Sources")
                    panel = gr.HTML(render.sources_html([]), elem_id="pa-sources")
                    with gr.Accordion("Collection and filters", open=False):
                        collection = gr.Dropdown(collection_names(), value=default, label="Collection",
                                                 elem_id="pa-collection")
                        years = gr.Textbox("", label="Years", max_lines=1, max_length=20, elem_id="pa-years",
                                           placeholder="2023, 2021-2023, 2024- or -2021")
                        author = gr.Textbox("", label="Author", max_lines=1, max_length=200, elem_id="pa-author")
                        venue = gr.Textbox("", label="Venue", max_lines=1, max_length=200, elem_id="pa-venue")
                    with gr.Accordion("Settings", open=False):
                        backend = gr.Dropdown(names, value=backends.default, label="Model / backend",
                                              elem_id="pa-backend")
                        backend_status = gr.Markdown(status(backends, backends.default), elem_id="pa-status")
                        k = gr.Slider(1, 12, value=settings.retrieval.k, step=1, label="Sources (k)")
                        hybrid = gr.Checkbox(settings.retrieval.hybrid, label="Hybrid search (BM25 + dense)")
                        rerank = gr.Checkbox(settings.retrieval.rerank, label="Rerank (needs retrieval.reranker_path)",
                                             interactive=settings.retrieval.reranker_path is not None)
            plain = gr.State([])  # the conversation as the pipeline sees it: questions and raw checked answers
            links = gr.State({})  # the last answer's [n] -> paper URL, to re-point its links on the next question
            answers = gr.State([])  # the checked Answer of each turn, for export and saving
            saved_path = gr.State(None)  # the file this chat was saved to (saving again updates it)
            session = gr.State(lambda: uuid.uuid4().hex)  # this browser tab, for its Stop button
            # The first inputs keep the /chat API's order; the collection and filters come last, with defaults.
            inputs = [question, chatbot, plain, links, answers, backend, k, hybrid, rerank, collection, years,
                      author, venue, session]
            downloads = [pick, dl_answer, dl_bib, dl_conv]
            # Every turn runs at once (retrieval and the preview need no model); the model's own queue is App.gate.
            question.submit(respond, inputs, [chatbot, plain, links, answers, panel, question], api_name="chat",
                            concurrency_limit=settings.ui.concurrency + settings.ui.max_queue,
                            concurrency_id="chat").then(
                lambda a: export_files(a, None), answers, downloads, api_name=False)
            stop_button.click(stop, session, None, api_name=False, queue=False)
            model_timer.tick(model_line, None, [model_status, model_timer], api_name=False, queue=False)
            pick.input(export_files, [answers, pick], downloads, api_name=False)
            clear.click(lambda: ([], [], {}, [], render.sources_html([]), "", None, ""), None,
                        [chatbot, plain, links, answers, panel, question, saved_path, chat_note],
                        api_name=False).then(lambda: export_files([], None), None, downloads, api_name=False)
            save_button.click(save, [answers, saved_path], [saved, saved_path, chat_note], api_name=False)
            open_button.click(reopen_chat, saved, [chatbot, plain, links, answers, panel, saved_path, chat_note],
                              api_name=False).then(lambda a: export_files(a, None), answers, downloads,
                                                   api_name=False)
            saved.focus(refresh_chats, None, saved, api_name=False)
            backend.change(lambda name: status(backends, name), backend, backend_status, api_name=False)
            tables_ui.sources_related_ui(app, links)
        with gr.Tab("Papers"):
            with gr.Row():
                papers_collection = gr.Dropdown(collection_names(), value=default, label="Collection",
                                                allow_custom_value=True, elem_id="pa-papers-collection", scale=1,
                                                info="Type a new name to create a collection.")
                search_box = gr.Textbox(placeholder="Search titles and abstracts…", show_label=False,
                                        elem_id="pa-browse", scale=3)
                search_button = gr.Button("Search", scale=1)
            with gr.Row():
                with gr.Column():
                    results = gr.HTML("<p>Type words from a title or topic.</p>", elem_id="pa-results")
                    paper_pick = gr.Dropdown([], label="Open a paper", elem_id="pa-pick")
                with gr.Column():
                    paper = gr.HTML(render.paper_html(None), elem_id="pa-paper")
                    tables_ui.more_like_this_ui(app, paper_pick, papers_collection)
            with gr.Accordion("Add papers", open=True):
                gr.Markdown(f"BibTeX, RIS, CSL-JSON, JSON/JSONL/CSV records, arXiv Atom feeds, Daily-Papers "
                            f"captures (.txt) or a Zotero `zotero.sqlite`: up to {settings.ui.max_upload_files} "
                            f"files of {settings.ui.max_upload_mb:g} MB each, added to the collection above.")
                files = gr.File(file_count="multiple", file_types=list(EXTENSIONS), label="Files",
                                elem_id="pa-upload")
                add_button = gr.Button("Add to collection", variant="primary", elem_id="pa-add")
                upload_status = gr.Markdown("", elem_id="pa-upload-status")
            search_box.submit(browse, [search_box, papers_collection], [results, paper_pick], api_name="browse")
            search_button.click(browse, [search_box, papers_collection], [results, paper_pick], api_name=False)
            paper_pick.change(show_paper, [paper_pick, papers_collection], paper, api_name="paper")
            add_button.click(upload, [files, papers_collection], [upload_status, papers_collection, collection],
                             api_name="upload", concurrency_limit=1, concurrency_id="ingest")
        tables_ui.review_table_ui(app, links, names, paper_pick)
    return demo
