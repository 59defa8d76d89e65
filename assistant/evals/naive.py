"""The eval's baseline: llama-index's plain default RAG over the same Chroma store, with the same model.

`VectorStoreIndex.as_query_engine(similarity_top_k=k)`: dense top-k chunks, llama-index's default text-QA prompt
(compact mode), no hybrid search, no relevance threshold, no citation checks, no comparison or topic handling.
k is the product's `retrieval.k` unless asked otherwise (llama-index's own default is 2), so the two are compared
at the same k. As llama-index's docs advise, only the title of each chunk's metadata reaches the prompt (the
store also keeps the whole abstract, hashes and file origins there). Our backend is adapted to llama-index's
`CustomLLM`; nothing else is ours.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from assistant.evals.runner import Retrieved
from assistant.llms.base import Backend, Request
from assistant.types import Answer, Source, Timings

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.schema import NodeWithScore

    from assistant.config import Settings
    from assistant.search.store import PaperStore

LLAMA_INDEX_TOP_K = 2  # llama-index's own default similarity_top_k (`--naive-k 2`)
PROMPT_METADATA = ("title",)  # the chunk metadata the model sees; the rest is bookkeeping
# The default prompt has no refusal sentence, so a refusal is recognised by its usual wording.
_REFUSAL = re.compile(
    r"\b(?:(?:context|information|text|passages?|documents?|sources?|abstracts?)\s+(?:provided\s+)?"
    r"(?:does|do)\s*(?:not|n't)\s+(?:contain|provide|mention|include|specify|say|give|state)|"
    r"not\s+(?:mentioned|provided|specified|stated|given|included)\s+in\s+the\s+"
    r"(?:context|information|text|passages?|documents?)|"
    r"(?:cannot|can't|unable\s+to)\s+(?:be\s+)?(?:answer|determine|determined|find|answered)|"
    r"no\s+(?:information|mention)\s+(?:about|on|of|regarding))",
    re.IGNORECASE,
)


def looks_like_refusal(text: str) -> bool:
    return not text.strip() or bool(_REFUSAL.search(text))


def backend_llm(backend: Backend, max_tokens: int, temperature: float, context_window: int) -> Any:
    """llama-index's completion interface over one of our backends (a `CustomLLM`)."""
    from llama_index.core.llms import CompletionResponse, CompletionResponseGen, CustomLLM, LLMMetadata

    def request(prompt: str) -> Request:
        return Request(messages=[{"role": "user", "content": prompt}], question=prompt, max_tokens=max_tokens,
                       temperature=temperature)

    class BackendLLM(CustomLLM):
        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(context_window=context_window, num_output=max_tokens, model_name=backend.name)

        def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
            return CompletionResponse(text="".join(backend.generate(request(prompt))))

        def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
            text = ""
            for piece in backend.generate(request(prompt)):
                text += piece
                yield CompletionResponse(text=text, delta=piece)

    return BackendLLM()


def title_only_metadata() -> Any:
    """A node postprocessor that leaves every metadata key but the title out of the prompt and the embedding
    text (`excluded_llm_metadata_keys` / `excluded_embed_metadata_keys`, read by `MetadataMode.LLM` / `EMBED`)."""
    from llama_index.core.postprocessor.types import BaseNodePostprocessor
    from llama_index.core.schema import QueryBundle

    class TitleOnlyMetadata(BaseNodePostprocessor):
        def _postprocess_nodes(self, nodes: list[NodeWithScore],
                               query_bundle: QueryBundle | None = None) -> list[NodeWithScore]:
            for n in nodes:
                hidden = [key for key in n.node.metadata if key not in PROMPT_METADATA]
                n.node.excluded_llm_metadata_keys = hidden
                n.node.excluded_embed_metadata_keys = hidden
            return nodes

    return TitleOnlyMetadata()


class NaivePipeline:
    """llama-index's default query engine, seen by the eval like our pipeline (`ranking`, `retrieve`, `ask`)."""

    has_intent = False

    def __init__(self, settings: Settings, store: PaperStore, embedder: BaseEmbedding, backend: Backend,
                 k: int | None = None) -> None:
        from llama_index.core import VectorStoreIndex
        from llama_index.core.callbacks import CallbackManager
        from llama_index.core.query_engine import RetrieverQueryEngine

        self.backend = backend
        self.k = k or settings.retrieval.k
        # The same store and embedding model as ours; explicit LLM and callbacks keep llama-index's globals out.
        callbacks = CallbackManager()
        self.index = VectorStoreIndex.from_vector_store(store.vector_store(), embed_model=embedder,
                                                        callback_manager=callbacks)
        llm = backend_llm(backend, settings.llm.max_tokens, settings.llm.temperature, settings.llm.n_ctx)
        # What `index.as_query_engine(llm=llm, similarity_top_k=k, streaming=True)` builds, spelled out, with the
        # metadata exclusion llama-index's docs recommend for nodes that carry bulky metadata.
        self.engine = RetrieverQueryEngine.from_args(self.index.as_retriever(similarity_top_k=self.k),
                                                     llm=llm, streaming=True, callback_manager=callbacks,
                                                     node_postprocessors=[title_only_metadata()])

    def ranking(self, question: str, n: int) -> list[str]:
        """Dense search alone, chunks grouped into papers (for the recall@k curve)."""
        nodes = self.index.as_retriever(similarity_top_k=n * 3).retrieve(question)
        return list(dict.fromkeys(_title(node) for node in nodes))[:n]

    def _nodes(self, question: str) -> tuple[Any, list[NodeWithScore], float]:
        from llama_index.core.schema import QueryBundle

        start = time.perf_counter()
        bundle = QueryBundle(question)
        nodes = self.engine.retrieve(bundle)
        return bundle, nodes, time.perf_counter() - start

    def retrieve(self, question: str) -> Retrieved:
        _bundle, nodes, seconds = self._nodes(question)
        return Retrieved(list(dict.fromkeys(_title(n) for n in nodes)), "factual", False, round(seconds, 4))

    def ask(self, question: str, history: Any = None) -> Answer:
        start = time.perf_counter()
        bundle, nodes, t_retrieve = self._nodes(question)
        response = self.engine.synthesize(bundle, nodes)  # what engine.query() does after retrieving
        text, first = "", None
        for piece in response.response_gen:
            if first is None and piece:
                first = time.perf_counter() - start
            text += piece
        sources = [
            Source(n=i, paper_id=str(n.node.metadata["paper_id"]), title=_title(n), url=str(n.node.metadata["url"]),
                   score=float(n.score or 0.0), text=n.node.get_content())
            for i, n in enumerate(nodes, 1)
        ]
        timings = Timings(round(t_retrieve, 4), None if first is None else round(first, 4),
                          round(time.perf_counter() - start, 4))
        return Answer(question=question, answer=text.strip(), refused=looks_like_refusal(text), citations=[],
                      sources=sources, model=f"naive:{self.backend.name}", timings=timings)


def _title(node: NodeWithScore) -> str:
    return str(node.node.metadata["title"])
