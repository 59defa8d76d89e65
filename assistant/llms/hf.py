"""A local Hugging Face transformers model directory (llm.path), on the CPU, streamed token by token.

Loads with local_files_only: a hub name is an error, never a download. Uses the tokenizer's chat template.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.config import LLMSettings
from assistant.llms.base import Backend, BackendError, GenerationError, Readiness, Request


def model_dir(settings: LLMSettings) -> Path:
    if settings.path is None:
        raise BackendError("llm.path: the hf backend needs a local model directory (llm.path = \"models/my-model\")")
    path = settings.path.expanduser()
    if not (path / "config.json").is_file():
        raise BackendError(f"llm.path = {str(path)!r}: not a Hugging Face model directory (no config.json)")
    return path


def check(settings: LLMSettings) -> Readiness:
    try:
        return Readiness(True, f"model directory {model_dir(settings)}")
    except BackendError as e:
        return Readiness(False, str(e))


class HFBackend(Backend):
    def __init__(self, settings: LLMSettings) -> None:
        self.path = model_dir(settings)
        self.name = f"hf:{self.path.name}"
        self._loaded: tuple[Any, Any] | None = None  # (tokenizer, model)
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            try:
                tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
                model = AutoModelForCausalLM.from_pretrained(self.path, local_files_only=True)
            except (OSError, ValueError) as e:
                raise BackendError(f"llm.path = {str(self.path)!r}: cannot load the model ({e})") from e
            self._loaded = (tokenizer, model.eval())
        return self._loaded

    def generate(self, request: Request) -> Iterator[str]:
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        class Cancelled(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                import torch

                return torch.full((input_ids.shape[0],), request.cancelled, dtype=torch.bool,
                                  device=input_ids.device)

        with self._lock:
            tokenizer, model = self._load()
            inputs = tokenizer.apply_chat_template(
                list(request.messages), add_generation_prompt=True, return_tensors="pt", return_dict=True
            )
            streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=300)
            failure: list[BaseException] = []

            def run() -> None:
                try:
                    model.generate(**inputs, streamer=streamer, max_new_tokens=request.max_tokens,
                                   stopping_criteria=StoppingCriteriaList([Cancelled()]),
                                   do_sample=request.temperature > 0,
                                   **({"temperature": request.temperature} if request.temperature > 0 else {}))
                except Exception as e:  # surfaced to the caller below
                    failure.append(e)
                    streamer.end()

            worker = threading.Thread(target=run, daemon=True)
            worker.start()
            for piece in streamer:
                if request.cancelled:
                    break  # the stopping criterion ends the worker at its next token
                if piece:
                    yield piece
            worker.join()
            if failure:
                raise GenerationError(f"llm.path = {str(self.path)!r}: generation failed ({failure[0]})")
