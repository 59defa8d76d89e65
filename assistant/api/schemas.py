"""Request bodies of the HTTP API, validated by pydantic: an unknown field or a bad value is a 400 naming it.

Per-request choices (model, k, hybrid, rerank, collection, filters) go through `config.Options.for_request`, so
the API accepts exactly what the page and the CLI accept, with the same bounds; a field added to `Options` is
added to `OptionFields`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assistant.config import ConfigError, Filters, Options, Settings
from assistant.llms.base import Message


class RequestError(ValueError):
    """A request that cannot be served as given; `param` is the field to fix (dotted, as in the JSON body)."""

    def __init__(self, message: str, param: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.param = param
        self.status = status


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RetrievalFields(_Body):
    """The per-request retrieval options, each optional (unset: the server's settings)."""

    k: int | None = Field(None, description="Number of source papers (1-50); unset: retrieval.k.")
    hybrid: bool | None = Field(None, description="Fuse BM25 with dense search; unset: retrieval.hybrid.")
    rerank: bool | None = Field(None, description="Rerank with the cross-encoder; unset: retrieval.rerank.")
    collection: str | None = Field(None, description="The collection to search; unset: store.collection.")
    filters: Filters | None = Field(None, description="Year range, author and venue the papers must match "
                                    "(year_from, year_to, author, venue); a question's own words add to them.")

    def options(self, settings: Settings, default_backend: str) -> Options:
        chosen = self.model_dump(include=set(RetrievalFields.model_fields))
        try:
            return Options.for_request(settings, backend=getattr(self, "model", None) or default_backend, **chosen)
        except ConfigError as e:
            cause = e.__cause__
            param = None
            if isinstance(cause, ValidationError) and cause.errors():
                param = ".".join(str(p) for p in cause.errors()[0]["loc"])
            raise RequestError(str(e), "model" if param == "backend" else param) from e


class OptionFields(RetrievalFields):
    """The retrieval options and the backend."""

    model: str | None = Field(None, description="Backend name (GET /v1/models lists them); unset: llm.backend.")


class SearchBody(RetrievalFields):
    query: str = Field(description="Words to search titles and abstracts for.")

    @field_validator("query")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the query is empty")
        return value.strip()


class Turn(_Body):
    role: Literal["user", "assistant"]
    content: str


class AskBody(OptionFields):
    question: str = Field(description="The question; a follow-up is resolved against `history`.")
    history: list[Turn] = Field(default_factory=list, description="Earlier turns, oldest first.")

    def messages(self) -> list[Message]:
        return [{"role": t.role, "content": t.content} for t in self.history]


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")  # image parts and the like carry more fields; only text is read

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_call_id ...: accepted, not used

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text or "" for part in self.content if part.type == "text")


class ChatBody(OptionFields):
    """OpenAI's chat request. Fields OpenAI clients commonly send that the assistant does not use (temperature
    to store) are accepted and ignored: sampling and lengths are the server's (llm.temperature, llm.max_tokens*),
    so every answer is generated and checked under the same budget. Any other field is an error."""

    messages: list[ChatMessage] = Field(description="The conversation; the last message is the user's question.")
    stream: bool = Field(False, description="Server-sent events, OpenAI chunk format.")
    stream_options: dict[str, Any] | None = None
    n: int = Field(1, ge=1, le=1, description="Only one choice is generated.")
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    seed: int | None = None
    stop: str | list[str] | None = None
    user: str | None = None
    logit_bias: dict[str, float] | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None

    def conversation(self) -> tuple[str, list[Message]]:
        """(the question, the history before it): system messages are dropped (the assistant's prompts are
        fixed), the last message must be the user's."""
        turns = [m for m in self.messages if m.role in ("user", "assistant")]
        if not turns or self.messages[-1].role != "user":
            raise RequestError("the last message must have role 'user' (the question)",
                               f"messages.{len(self.messages) - 1}.role" if self.messages else "messages")
        question = turns[-1].text()
        if not question.strip():
            raise RequestError("the question is empty", f"messages.{len(self.messages) - 1}.content")
        history: list[Message] = [{"role": m.role, "content": m.text()} for m in turns[:-1]]  # type: ignore[typeddict-item]
        return question, history
