"""The MCP server through the `mcp` SDK's own client: `python -m assistant.cli mcp` over stdio (a real
subprocess importing this checkout), every tool called, papers read as resources; and the same server over
streamable HTTP at /mcp inside `serve`."""

from __future__ import annotations

import json
import os
import sys

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.support import ROOT

QUESTION = "How does LeTI use error messages from the Python interpreter?"


def stdio(store) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    env |= {"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
            "GRADIO_ANALYTICS_ENABLED": "False", "ANONYMIZED_TELEMETRY": "False", "TRANSFORMERS_OFFLINE": "1"}
    return StdioServerParameters(command=sys.executable, cwd=str(ROOT), env=env,
                                 args=["-m", "assistant.cli", "mcp", "--store", str(store), "--model", "fake"])


def structured(result) -> dict:
    assert not result.is_error, result.content
    return result.structured_content


async def exercise(client: Client) -> dict:
    out: dict = {}
    out["tools"] = sorted(t.name for t in (await client.list_tools()).tools)
    out["search"] = structured(await client.call_tool("search_papers", {"query": "LeTI error messages", "k": 3}))
    out["ask"] = structured(await client.call_tool("ask", {"question": QUESTION}))
    paper_id = out["ask"]["citations"][0]["paper_id"]
    out["paper"] = structured(await client.call_tool("get_paper", {"paper_id": paper_id}))
    out["related"] = structured(await client.call_tool("related_papers", {"paper_id": paper_id, "k": 3}))
    out["missing"] = await client.call_tool("get_paper", {"paper_id": "no-such-paper"})
    out["bad_k"] = await client.call_tool("ask", {"question": QUESTION, "k": 500})
    out["resource"] = await client.read_resource(f"paper://{paper_id}")
    out["index"] = await client.read_resource("papers://index")
    out["templates"] = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
    return out


def check(out: dict) -> None:
    assert out["tools"] == ["ask", "get_paper", "related_papers", "search_papers"]
    assert out["search"]["query"] == "LeTI error messages" and len(out["search"]["results"]) == 3
    assert "LeTI" in out["search"]["results"][0]["title"]
    ask = out["ask"]
    assert "[1]" in ask["answer"] and not ask["refused"] and ask["model"] == "fake"
    assert ask["citations"][0]["n"] == 1 and ask["citations"][0]["supported"]
    assert ask["sources"][0]["paper_id"] == ask["citations"][0]["paper_id"]
    paper = out["paper"]
    assert paper["title"] == ask["sources"][0]["title"] and len(paper["abstract"]) > 200
    related = out["related"]
    assert related["paper_id"] == paper["paper_id"] and [r["rank"] for r in related["related"]] == [1, 2, 3]
    assert paper["paper_id"] not in {r["paper_id"] for r in related["related"]}
    assert out["missing"].is_error and "no-such-paper" in out["missing"].content[0].text
    assert out["bad_k"].is_error and "k" in out["bad_k"].content[0].text
    text = out["resource"].contents[0].text
    assert text.startswith(f"# {paper['title']}") and paper["abstract"][:80] in text
    listed = json.loads(out["index"].contents[0].text)
    assert paper["paper_id"] in {p["paper_id"] for p in listed} and len(listed) > 50
    assert out["templates"] == ["paper://{paper_id}"]


def test_the_stdio_server_lists_and_calls_every_tool(built_store):
    async def main() -> dict:
        # The server answers `initialize` once it has imported and built the app: 10-20 s on an idle machine,
        # minutes on a loaded one, so the timeout is generous (an MCP client's own may need raising too).
        async with Client(stdio(built_store), read_timeout_seconds=600) as client:
            return await exercise(client)

    check(anyio.run(main))


def test_a_missing_store_stops_the_stdio_server_with_one_line(tmp_path):
    import subprocess

    params = stdio(tmp_path / "nothing-here")
    proc = subprocess.run([params.command, *params.args], capture_output=True, text=True, env=params.env,
                          cwd=params.cwd, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_same_server_over_streamable_http_inside_serve(running):
    async def main() -> dict:
        async with Client(running.url + "mcp", read_timeout_seconds=120) as client:
            return await exercise(client)

    check(anyio.run(main))
