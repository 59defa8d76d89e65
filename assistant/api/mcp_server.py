"""The MCP server (the official `mcp` SDK): tools `search_papers`, `ask` and `get_paper`, and every paper readable
as the resource `paper://{paper_id}` (`papers://index` lists them). `paper-assistant mcp` serves it over stdio;
`serve` mounts it over streamable HTTP at /mcp behind the page's login.

Tools run in worker threads (the SDK's way for plain functions); `ask` takes a slot of the app's queue. Errors a
user can act on (an unknown paper, a bad option, a busy queue) come back as tool errors with the message.
"""

from __future__ import annotations

import json
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError

from assistant.answer.gate import Busy
from assistant.answer.pipeline import QuestionError
from assistant.api.schemas import AskBody, RequestError, SearchBody
from assistant.api.service import Service, UnknownModel
from assistant.config import Filters
from assistant.llms.base import BackendError, GenerationError
from assistant.search.store import StoreError

INSTRUCTIONS = ("Answers questions from a local collection of research-paper abstracts. `ask` returns an answer "
                "whose [n] markers refer to the numbered `sources`; `citations` says which sources each answer "
                "cites and whether the source supports the sentence. `search_papers` retrieves without answering.")


def _bad(e: Exception) -> ToolError:
    return ToolError(str(e))


def build_mcp(service: Service) -> MCPServer:
    settings = service.app.settings
    server = MCPServer("paper-assistant", instructions=INSTRUCTIONS, log_level="WARNING")

    def options(body: SearchBody | AskBody) -> Any:
        try:
            return body.options(settings, service.default_model)
        except RequestError as e:
            raise _bad(e) from e

    def filters(since: int | None, until: int | None, author: str | None, venue: str | None) -> Filters | None:
        if since is None and until is None and not author and not venue:
            return None
        try:
            return Filters(year_from=since, year_to=until, author=author or None, venue=venue or None)
        except ValueError as e:
            raise _bad(e) from e

    @server.tool(description="Find the papers that match a query (retrieval only, no answer). Returns ranked "
                 "results with paper_id, title, url, score, the matched text, authors, year and venue. Optional: "
                 "collection, and filters since/until (years), author, venue, applied before ranking.")
    def search_papers(query: str, k: int | None = None, collection: str | None = None, since: int | None = None,
                      until: int | None = None, author: str | None = None,
                      venue: str | None = None) -> dict[str, Any]:
        try:
            body = SearchBody(query=query, k=k, collection=collection,
                              filters=filters(since, until, author, venue))
        except ValueError as e:
            raise _bad(e) from e
        return service.search(body.query, options(body))

    @server.tool(description="Answer a question from the papers. The answer cites sources as [n]; `sources` "
                 "lists them by n (title, url, the text used), `citations` the cited ones and whether each is "
                 "supported. A question the papers cannot answer gets a fixed refusal (refused: true). Optional: "
                 "collection, and filters since/until (years), author, venue (the question's own words, e.g. "
                 "'since 2024', are read too).")
    def ask(question: str, model: str | None = None, k: int | None = None, collection: str | None = None,
            since: int | None = None, until: int | None = None, author: str | None = None,
            venue: str | None = None) -> dict[str, Any]:
        try:
            body = AskBody(question=question, model=model, k=k, collection=collection,
                           filters=filters(since, until, author, venue))
            return service.ask(body.question, [], options(body)).to_dict()
        except (ValueError, UnknownModel, QuestionError, Busy, BackendError, GenerationError) as e:
            if isinstance(e, ToolError):
                raise
            raise _bad(e) from e

    @server.tool(description="One paper by its paper_id (from search_papers or ask): title, authors, year, "
                 "venue, url and the whole abstract.")
    def get_paper(paper_id: str) -> dict[str, Any]:
        paper = service.paper(paper_id)
        if paper is None:
            raise ToolError(f"no paper with paper_id {paper_id!r}; search_papers gives the ids")
        return paper

    @server.tool(description="The papers most like one paper (by paper_id), nearest first, from the stored "
                 "embeddings (no model): rank, paper_id, title, url, similarity. Optional: k, collection, and "
                 "filters since/until (years), author, venue.")
    def related_papers(paper_id: str, k: int | None = None, collection: str | None = None, since: int | None = None,
                       until: int | None = None, author: str | None = None,
                       venue: str | None = None) -> dict[str, Any]:
        try:
            body = SearchBody(query=paper_id, k=k, collection=collection,
                              filters=filters(since, until, author, venue))
            found = service.related(paper_id, options(body))
        except (ValueError, StoreError) as e:
            if isinstance(e, ToolError):
                raise
            raise _bad(e) from e
        if found is None:
            raise ToolError(f"no paper with paper_id {paper_id!r}; search_papers gives the ids")
        return found

    @server.resource("paper://{paper_id}", name="paper", mime_type="text/markdown",
                     description="A paper's title, authors, links and whole abstract.")
    def paper_resource(paper_id: str) -> str:
        paper = service.paper(paper_id)
        if paper is None:
            raise ResourceError(f"no paper with paper_id {paper_id!r}")
        return paper_markdown(paper)

    @server.resource("papers://index", name="papers", mime_type="application/json",
                     description="Every paper's paper_id and title; read one as paper://{paper_id}.")
    def index() -> str:
        return json.dumps(service.papers(), ensure_ascii=False)

    return server


def paper_markdown(paper: dict[str, Any]) -> str:
    facts = [f"- {label}: {paper[key]}" for key, label in (("year", "Year"), ("venue", "Venue"), ("doi", "DOI"),
                                                           ("arxiv_id", "arXiv"), ("url", "URL")) if paper.get(key)]
    authors = ", ".join(paper["authors"])
    return "\n".join([f"# {paper['title']}", "", *([f"{authors}", ""] if authors else []), *facts, "",
                      paper["abstract"], ""])
