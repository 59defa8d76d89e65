"""The Gradio chat page: `build_app(pipeline, settings)` returns a gr.Blocks; it never launches anything.

Answers stream into the chat, then are replaced by the checked answer whose [n] markers link to the sources
panel; a settings area picks the backend (built on first use, never switched on its own), k, hybrid and rerank;
a second tab browses the papers. Launching, auth and binding live in serve_cli.py; HTML and markdown in render.py.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from assistant import render
from assistant.config import LLMSettings, Settings
from assistant.llms.base import BackendError, GenerationError, Message, Readiness
from assistant.pipeline import Finished, Pipeline, QuestionError, SourcesFound, TextDelta

if TYPE_CHECKING:
    import gradio as gr

    from assistant.llms.registry import Registry
    from assistant.retrieval import Retriever

log = logging.getLogger(__name__)
EXAMPLES = [
    "How does LeTI use error messages from the Python interpreter?",
    "Compare LoRAMoE and DePT.",
    "Which papers study catastrophic forgetting in language models?",
    "What does HFT do?",
]
HIDDEN_BACKENDS = {"fake"}  # test double: selectable only when configured explicitly
Turn = tuple[list[dict], list[Message], str, dict[int, str]]  # chat, plain history, sources panel, [n] -> url


class Backends:
    """Pipelines by backend name over one retriever, built on first use and kept; thread-safe."""

    def __init__(self, base: Pipeline | None, retriever: Retriever, settings: Settings, registry: Registry) -> None:
        self.base, self.retriever, self.settings, self.registry = base, retriever, settings, registry
        self._pipelines: dict[str, Pipeline] = {base.settings.llm.backend: base} if base else {}
        self._lock = threading.Lock()

    def llm(self, name: str) -> LLMSettings:
        return self.settings.llm.model_copy(update={"backend": name})

    def readiness(self, name: str) -> Readiness:
        try:
            return self.registry.check(self.llm(name))
        except BackendError as e:
            return Readiness(False, str(e))

    def built(self, name: str) -> bool:
        return name in self._pipelines

    def pipeline(self, name: str) -> Pipeline:
        """The pipeline answering with backend `name`; raises BackendError when it cannot be built."""
        with self._lock:
            if name not in self._pipelines:
                backend = self.registry.build(self.llm(name))
                self._pipelines[name] = (self.base.with_backend(backend) if self.base
                                         else Pipeline(self.settings, self.retriever, backend))
            return self._pipelines[name]

    def status(self, name: str) -> str:
        ready = self.readiness(name)
        if ready.ready:
            return f"✅ **{name}**: {render.escape_md(ready.detail)}"
        return (f"❌ **{name}** is not ready: {render.escape_md(ready.detail)}\n\n"
                "Questions are not answered with another backend: choose one marked ready, e.g. **extractive** "
                "(no generative model).")


def _text(content: Any) -> str | None:
    """A chat message's text, whether plain (as we send it) or Gradio's list of content blocks (as it comes back)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(c, dict) and c.get("type") == "text" for c in content):
        return "".join(c.get("text", "") for c in content)
    return None


def freeze_previous(chat: list[dict], links: dict[int, str]) -> list[dict]:
    """The last answer's [n] links now point at its papers: the sources panel is about to show new sources."""
    for i in range(len(chat) - 1, -1, -1):
        if chat[i].get("role") == "assistant" and (text := _text(chat[i].get("content"))) is not None:
            chat = [*chat[:i], {"role": "assistant", "content": render.freeze_links(text, links)}, *chat[i + 1:]]
            break
    return chat


def chat_turn(
    backends: Backends, message: str, chat: list[dict], plain: list[Message], links: dict[int, str], backend: str,
    k: int, hybrid: bool, rerank: bool,
) -> Iterator[Turn]:
    """One question: yields (chat messages, plain history, sources panel, [n] -> url) as the answer streams."""
    chat = [*freeze_previous(chat, links), {"role": "user", "content": render.escape_md(message or "")},
            {"role": "assistant", "content": "…"}]
    yield chat, plain, render.sources_html([], note="Searching…"), {}

    def fail(text: str, sources: list, note: str = "") -> Turn:
        chat[-1] = {"role": "assistant", "content": render.error_markdown(text)}
        return chat, plain, render.sources_html(sources, note=note), {}

    if not backends.built(backend) and not (ready := backends.readiness(backend)).ready:
        yield fail(f"The backend {backend} is not ready: {ready.detail}. Choose another one under Settings; "
                   "the question was not sent to any other backend.", [])
        return
    sources: list = []
    try:
        base = backends.pipeline(backend)
        retriever = backends.retriever.with_options(k=int(k), hybrid=bool(hybrid), rerank=bool(rerank))
        pipeline = Pipeline(retriever.settings, retriever, base.backend, base.prompts)
        text, note = "", ""
        for event in pipeline.stream(message, history=plain):
            if isinstance(event, SourcesFound):
                sources = event.sources
                note = f"Searched for: {event.standalone}" if event.standalone != message.strip() else ""
                yield chat, plain, render.sources_html(sources, note=note), {}
            elif isinstance(event, TextDelta):
                text += event.text
                chat[-1] = {"role": "assistant", "content": render.streaming_markdown(text)}
                yield chat, plain, render.sources_html(sources, note=note), {}
            elif isinstance(event, Finished):
                answer = event.answer
                chat[-1] = {"role": "assistant", "content": render.answer_markdown(answer)}
                plain = [*plain, {"role": "user", "content": message}, {"role": "assistant", "content": answer.answer}]
                yield chat, plain, render.sources_html(answer.sources, answer, note), {s.n: s.url for s in sources}
    except QuestionError as e:
        yield fail(str(e), [])
    except (BackendError, GenerationError) as e:
        kept = " The sources it found are listed under Sources." if sources else ""
        yield fail(f"The model failed ({backend}): {e}.{kept} Ask again, or choose another backend under Settings.",
                   sources, "Retrieval worked; generation failed." if sources else "")
    except Exception as e:  # one bad request must not take the page down
        log.exception("question failed: %r", message)
        yield fail(f"Something went wrong ({type(e).__name__}: {e}).", sources)


def build_app(pipeline: Pipeline | Retriever, settings: Settings, registry: Registry | None = None) -> gr.Blocks:
    """The page over `pipeline` (its retriever, and its backend for settings.llm.backend); other backends in
    `registry` are built when first chosen. A bare Retriever also works: every backend is then built on first use."""
    from assistant.serve_cli import TEMP_DIR

    # Gradio reads this at import and in each component, before launch() could set it.
    os.environ.setdefault("GRADIO_TEMP_DIR", str(TEMP_DIR))
    import gradio as gr

    from assistant.llms.registry import default_registry

    registry = registry or default_registry()
    base = pipeline if isinstance(pipeline, Pipeline) else None
    retriever = base.retriever if base else pipeline
    backends = Backends(base, retriever, settings, registry)
    names = [n for n in registry.names() if n not in HIDDEN_BACKENDS or n == settings.llm.backend]

    def respond(message: str, chat: list[dict], plain: list[Message], links: dict[int, str], backend: str, k: int,
                hybrid: bool, rerank: bool) -> Iterator[tuple[Any, ...]]:
        for chat_value, plain_value, panel, new_links in chat_turn(
            backends, message, chat or [], plain or [], links or {}, backend, k, hybrid, rerank
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
        return render.paper_html(retriever.store.paper(paper_id) if paper_id else None)

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
                        backend = gr.Dropdown(names, value=settings.llm.backend, label="Model / backend",
                                              elem_id="pa-backend")
                        status = gr.Markdown(backends.status(settings.llm.backend), elem_id="pa-status")
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
            backend.change(backends.status, backend, status, api_name=False)
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
            search_box.submit(browse, search_box, [results, pick], api_name="browse")
            search_button.click(browse, search_box, [results, pick], api_name=False)
            pick.change(show_paper, pick, paper, api_name="paper")
    return demo
