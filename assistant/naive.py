"""The eval's baseline: llama-index's plain default RAG over the same store and with the same model.

A `VectorStoreIndex` query engine with dense top-2, llama-index's default text-QA prompt, no citation checks,
no comparison handling. Our backend is adapted to llama-index's `CustomLLM`; nothing else is ours.
"""

from __future__ import annotations

import time
from typing import Any

from assistant.llms.base import Backend, Request
from assistant.types import REFUSAL, Answer, Source, Timings

NAIVE_TOP_K = 2


def _adapter(backend: Backend, max_tokens: int) -> Any:
    from llama_index.core.llms import CompletionResponse, CompletionResponseGen, CustomLLM, LLMMetadata

    class BackendLLM(CustomLLM):
        """llama-index's completion interface over one of our backends."""

        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(context_window=4096, num_output=max_tokens, model_name=backend.name)

        def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
            text = "".join(backend.generate(Request(messages=[{"role": "user", "content": prompt}],
                                                    question=prompt, max_tokens=max_tokens)))
            return CompletionResponse(text=text)

        def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
            text = ""
            for piece in backend.generate(Request(messages=[{"role": "user", "content": prompt}],
                                                  question=prompt, max_tokens=max_tokens)):
                text += piece
                yield CompletionResponse(text=text, delta=piece)

    return BackendLLM()


class NaivePipeline:
    """`ask(question) -> Answer` like Pipeline, the llama-index default way."""

    def __init__(self, retriever: Any, backend: Backend, max_tokens: int) -> None:
        from llama_index.core import VectorStoreIndex

        index = VectorStoreIndex.from_vector_store(retriever.store.vector_store(), embed_model=retriever.embedder)
        self.backend = backend
        self.engine = index.as_query_engine(llm=_adapter(backend, max_tokens), similarity_top_k=NAIVE_TOP_K)

    def ask(self, question: str, history: Any = None) -> Answer:
        start = time.perf_counter()
        response = self.engine.query(question)
        total = time.perf_counter() - start
        sources = [
            Source(n=i, paper_id=str(n.node.metadata["paper_id"]), title=str(n.node.metadata["title"]),
                   url=str(n.node.metadata["url"]), score=float(n.score or 0.0), text=n.node.get_content())
            for i, n in enumerate(response.source_nodes, 1)
        ]
        text = str(response)
        return Answer(question=question, answer=text, refused=REFUSAL.lower()[:40] in text.lower(), citations=[],
                      sources=sources, model=f"naive:{self.backend.name}",
                      timings=Timings(retrieve=0.0, first_token=None, total=round(total, 4)))
