"""The Gradio page: `build_app(app)` returns a gr.Blocks over the app's pipeline; it never launches anything.

A chat tab (one turn is `chat.chat_turn`), a settings area that picks the backend (built on first use, never
switched on its own), k, hybrid and rerank as per-request options, and a tab that browses the papers. The
"Review table" tab and the "More like this" lists are laid out by `tables`. Launching, auth and binding live in
`serve`; HTML and markdown in `render`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from assistant.app import App
from assistant.llms.base import Message
from assistant.ui import render
from assistant.ui import tables as tables_ui
from assistant.ui.chat import chat_turn, status
from assistant.ui.serve import TEMP_DIR

if TYPE_CHECKING:
    import gradio as gr

EXAMPLES = [
    "How does LeTI use error messages from the Python interpreter?",
    "Compare LoRAMoE and DePT.",
    "Which papers study catastrophic forgetting in language models?",
    "What does HFT do?",
]


def build_app(app: App) -> gr.Blocks:
    """The page over `app.pipeline`; the backends in `app.backends` are built when first chosen."""
    # Gradio reads this at import and in each component, before launch() could set it.
    os.environ.setdefault("GRADIO_TEMP_DIR", str(TEMP_DIR.resolve()))
    import gradio as gr

    settings, backends, retriever, store = app.settings, app.backends, app.retriever, app.store
    shown = set(backends.registry.names(include_hidden=False))
    names = [n for n in backends.names() if n in shown or n == backends.default]

    def respond(message: str, chat: list[dict], plain: list[Message], links: dict[int, str], backend: str, k: int,
                hybrid: bool, rerank: bool) -> Iterator[tuple[Any, ...]]:
        for chat_value, plain_value, panel, new_links in chat_turn(
            app.pipeline, message, chat or [], plain or [], links or {}, backend, k, hybrid, rerank
        ):
            yield chat_value, plain_value, new_links, panel, ""

    def browse(query: str) -> tuple[str, Any]:
        query = (query or "").strip()
        if not query:
            return "<p>Type words from a title or topic.</p>", gr.update(choices=[], value=None)
        hits = retriever.search(query, 15)
        return render.paper_list_html(hits), gr.update(choices=[(h.title, h.paper_id) for h in hits],
                                                       value=hits[0].paper_id if hits else None)

    def show_paper(paper_id: str | None) -> str:
        return render.paper_html(store.paper(paper_id) if paper_id else None)

    with gr.Blocks(title="Paper Assistant") as demo:
        gr.Markdown("## Paper Assistant\nAsk about the indexed papers; answers cite them as [n].")
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(label="Conversation", height="68vh", elem_id="pa-chat", sanitize_html=True,
                                         buttons=["copy", "copy_all"])
                    question = gr.Textbox(placeholder="Ask a question about the papers…", show_label=False,
                                          elem_id="pa-question", submit_btn=True, max_length=4000)
                    gr.Examples(EXAMPLES, inputs=question, label="Examples")
                    clear = gr.Button("New conversation", size="sm")
                with gr.Column(scale=2):
                    gr.Markdown("### Sources")
                    panel = gr.HTML(render.sources_html([]), elem_id="pa-sources")
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
            inputs = [question, chatbot, plain, links, backend, k, hybrid, rerank]
            question.submit(respond, inputs, [chatbot, plain, links, panel, question], api_name="chat")
            clear.click(lambda: ([], [], {}, render.sources_html([]), ""), None,
                        [chatbot, plain, links, panel, question], api_name=False)
            backend.change(lambda name: status(backends, name), backend, backend_status, api_name=False)
            tables_ui.sources_related_ui(app, links)
        with gr.Tab("Papers"):
            with gr.Row():
                search_box = gr.Textbox(placeholder="Search titles and abstracts…", show_label=False,
                                        elem_id="pa-browse", scale=4)
                search_button = gr.Button("Search", scale=1)
            with gr.Row():
                with gr.Column():
                    results = gr.HTML("<p>Type words from a title or topic.</p>", elem_id="pa-results")
                    pick = gr.Dropdown([], label="Open a paper", elem_id="pa-pick")
                with gr.Column():
                    paper = gr.HTML(render.paper_html(None), elem_id="pa-paper")
                    tables_ui.more_like_this_ui(app, pick)
            search_box.submit(browse, search_box, [results, pick], api_name="browse")
            search_button.click(browse, search_box, [results, pick], api_name=False)
            pick.change(show_paper, pick, paper, api_name="paper")
        tables_ui.review_table_ui(app, links, names, pick)
    return demo
