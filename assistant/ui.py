"""The Gradio chat page: `build_app(retriever, settings)` returns a gr.Blocks; it never launches anything.

Answers stream into the chat, then are replaced by the checked answer whose [n] markers link to the sources
panel; a settings area picks the backend (built lazily, never switched on its own), k, hybrid and rerank; a
second tab browses the papers. Launching, auth and binding live in serve_cli.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from assistant import render
from assistant.config import Settings
from assistant.llms.base import BackendError, GenerationError, Message
from assistant.pipeline import Finished, Pipeline, QuestionError, SourcesFound, TextDelta

if TYPE_CHECKING:
    import gradio as gr

    from assistant.llms.registry import Registry
    from assistant.retrieval import Retriever

EXAMPLES = [
    "How does LeTI use error messages from the Python interpreter?",
    "Compare LoRAMoE and DePT.",
    "Which papers study catastrophic forgetting in language models?",
    "What does HFT do?",
]
HIDDEN_BACKENDS = {"fake"}  # test double: selectable only when configured explicitly


class Backends:
    """Pipelines by backend name, built on first use and kept; thread-safe."""

    def __init__(self, retriever: Retriever, settings: Settings, registry: Registry) -> None:
        self.retriever, self.settings, self.registry = retriever, settings, registry
        self._pipelines: dict[str, Pipeline] = {}
        self._lock = threading.Lock()

    def pipeline(self, name: str) -> Pipeline:
        with self._lock:
            if name not in self._pipelines:
                llm = self.settings.llm.model_copy(update={"backend": name})
                self._pipelines[name] = Pipeline(self.settings, self.retriever, self.registry.build(llm))
            return self._pipelines[name]

    def warm(self, name: str) -> None:
        """Build `name` and load its model in the background, so the first question does not wait for it."""

        def run() -> None:
            try:
                load = getattr(self.pipeline(name).backend, "load", None)
                if callable(load):
                    load()
            except Exception:
                pass

        if self.registry.check(self.settings.llm.model_copy(update={"backend": name})).ready:
            threading.Thread(target=run, daemon=True, name="warm-up").start()

    def status(self, name: str) -> str:
        ready = self.registry.check(self.settings.llm.model_copy(update={"backend": name}))
        if ready.ready:
            return f"✅ **{name}**: {render.escape_md(ready.detail)}"
        return (f"❌ **{name}** is not available: {render.escape_md(ready.detail)}\n\n"
                "Choose **extractive** to answer without a generative model.")


def chat_turn(
    backends: Backends, message: str, chat: list[dict], plain: list[Message], backend: str, k: int,
    hybrid: bool, rerank: bool,
) -> Iterator[tuple[list[dict], list[Message], str]]:
    """One question: yields (chat messages, plain history, sources panel) as the answer streams."""
    chat = [*chat, {"role": "user", "content": render.escape_md(message or "")}, {"role": "assistant", "content": "…"}]
    sources_panel = render.sources_html([], note="Searching…")
    yield chat, plain, sources_panel
    sources: list = []
    try:
        base = backends.pipeline(backend)
        retriever = backends.retriever.with_options(k=int(k), hybrid=hybrid, rerank=rerank)
        pipeline = Pipeline(retriever.settings, retriever, base.backend, base.prompts)
        text = ""
        for event in pipeline.stream(message, history=plain):
            if isinstance(event, SourcesFound):
                sources = event.sources
                note = f"Searched for: {event.standalone}" if event.standalone != message.strip() else ""
                sources_panel = render.sources_html(sources, note=note)
                chat[-1] = {"role": "assistant", "content": "…"}
            elif isinstance(event, TextDelta):
                text += event.text
                chat[-1] = {"role": "assistant", "content": render.streaming_markdown(text)}
            elif isinstance(event, Finished):
                answer = event.answer
                chat[-1] = {"role": "assistant", "content": render.answer_markdown(answer)}
                sources_panel = render.sources_html(answer.sources, answer, note=(
                    f"Searched for: {answer.standalone_question}" if answer.standalone_question else ""))
                plain = [*plain, {"role": "user", "content": message}, {"role": "assistant", "content": answer.answer}]
            yield chat, plain, sources_panel
    except QuestionError as e:
        chat[-1] = {"role": "assistant", "content": render.error_markdown(str(e))}
        yield chat, plain, render.sources_html([])
    except (BackendError, GenerationError) as e:
        chat[-1] = {"role": "assistant", "content": render.error_markdown(
            f"The model failed: {e}. The sources found are still listed; ask again when the backend is back.")}
        yield chat, plain, render.sources_html(sources, note="Retrieval worked; generation failed.")
    except Exception as e:  # keep serving whatever went wrong in one request
        chat[-1] = {"role": "assistant", "content": render.error_markdown(f"Something went wrong: {e}")}
        yield chat, plain, render.sources_html(sources)


def build_app(
    retriever: Retriever, settings: Settings, registry: Registry | None = None, *, warm: bool = False
) -> gr.Blocks:
    import gradio as gr

    from assistant.llms.registry import default_registry

    registry = registry or default_registry()
    backends = Backends(retriever, settings, registry)
    names = [n for n in registry.names() if n not in HIDDEN_BACKENDS or n == settings.llm.backend]
    if warm:
        backends.warm(settings.llm.backend)

    def respond(message: str, chat: list[dict], plain: list[Message], backend: str, k: int, hybrid: bool,
                rerank: bool) -> Iterator[tuple[Any, ...]]:
        for chat_value, plain_value, panel in chat_turn(backends, message, chat or [], plain or [], backend, k,
                                                        hybrid, rerank):
            yield chat_value, plain_value, panel, ""

    def browse(query: str) -> tuple[str, Any]:
        query = (query or "").strip()
        if not query:
            return "<p>Type words from a title or topic.</p>", gr.update(choices=[], value=None)
        hits = retriever.search(query, 15)
        return render.paper_list_html(hits), gr.update(choices=[(h.title, h.paper_id) for h in hits],
                                                       value=hits[0].paper_id if hits else None)

    def show_paper(paper_id: str | None) -> str:
        return render.paper_html(retriever.store.paper(paper_id) if paper_id else None)

    with gr.Blocks(title="Paper Assistant") as demo:
        gr.Markdown("## Paper Assistant\nAsk about the indexed papers; answers cite them as [n].")
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(label="Conversation", height=520, elem_id="pa-chat", sanitize_html=True)
                    question = gr.Textbox(placeholder="Ask a question about the papers…", show_label=False,
                                          elem_id="pa-question", submit_btn=True, max_length=4000)
                    gr.Examples(EXAMPLES, inputs=question, label="Examples")
                    clear = gr.Button("New conversation", size="sm")
                with gr.Column(scale=2):
                    gr.Markdown("### Sources")
                    panel = gr.HTML(render.sources_html([]), elem_id="pa-sources")
                    with gr.Accordion("Settings", open=False):
                        backend = gr.Dropdown(names, value=settings.llm.backend, label="Model / backend",
                                              elem_id="pa-backend")
                        status = gr.Markdown(backends.status(settings.llm.backend), elem_id="pa-status")
                        k = gr.Slider(1, 12, value=settings.retrieval.k, step=1, label="Sources (k)")
                        hybrid = gr.Checkbox(settings.retrieval.hybrid, label="Hybrid search (BM25 + dense)")
                        rerank = gr.Checkbox(settings.retrieval.rerank, label="Rerank (needs retrieval.reranker_path)",
                                             interactive=settings.retrieval.reranker_path is not None)
            plain = gr.State([])
            inputs = [question, chatbot, plain, backend, k, hybrid, rerank]
            question.submit(respond, inputs, [chatbot, plain, panel, question], api_name="chat")
            clear.click(lambda: ([], [], render.sources_html([]), ""), None, [chatbot, plain, panel, question],
                        api_name=False)
            backend.change(backends.status, backend, status, api_name=False)
        with gr.Tab("Papers"):
            with gr.Row():
                search_box = gr.Textbox(placeholder="Search titles and abstracts…", show_label=False,
                                        elem_id="pa-browse", scale=4)
                search_button = gr.Button("Search", scale=1)
            with gr.Row():
                with gr.Column():
                    results = gr.HTML("<p>Type words from a title or topic.</p>")
                    pick = gr.Dropdown([], label="Open a paper", elem_id="pa-pick")
                with gr.Column():
                    paper = gr.HTML(render.paper_html(None), elem_id="pa-paper")
            search_box.submit(browse, search_box, [results, pick], api_name="browse")
            search_button.click(browse, search_box, [results, pick], api_name=False)
            pick.change(show_paper, pick, paper, api_name="paper")
    return demo
