"""The command line, run as a real subprocess on a real store (the table and related commands through `main` in
this process)."""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from tests.support import ROOT


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_ingest_stats_search_json(tmp_path):
    store = tmp_path / "index"
    corpus = ROOT / "data" / "corpus" / "000_7e1647b1c5aa1152.txt"
    out = json.loads(run("ingest", str(corpus), "--store", str(store), "--json", "--quiet").stdout)
    assert set(out) == {"files", "papers_seen", "papers_new", "papers_updated", "papers_unchanged",
                        "chunks_embedded", "seconds"}
    assert out["files"] == 1 and out["papers_new"] == out["papers_seen"] == 72
    again = json.loads(run("ingest", str(corpus), "--store", str(store), "--json", "--quiet").stdout)
    assert again["chunks_embedded"] == 0 and again["papers_unchanged"] == 72

    stats = json.loads(run("stats", "--store", str(store), "--json").stdout)
    assert stats["papers"] == 72 and stats["chunks"] >= 72
    assert set(stats) == {"papers", "chunks", "store", "collection", "embedding_model"}

    res = json.loads(run("search", "textual feedback from a Python interpreter", "--store", str(store),
                         "--k", "3", "--json").stdout)
    assert res["query"] == "textual feedback from a Python interpreter"
    assert [r["rank"] for r in res["results"]] == [1, 2, 3]
    assert set(res["results"][0]) == {"rank", "paper_id", "title", "url", "score", "text", "year", "authors", "venue"}
    assert res["results"][0]["title"].startswith("LeTI")


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("", "empty.jsonl", "empty.jsonl"),
        ('{"title": "A", "abstract": "B"}\n{not json\n', "bad.jsonl", "bad.jsonl:2"),
        ("title,abstract\n", "x.xml", "x.xml"),
    ],
)
def test_bad_input_is_one_clear_line_and_store_untouched(tmp_path, content, name, message):
    bad = tmp_path / name
    bad.write_text(content)
    store = tmp_path / "index"
    proc = run("ingest", str(bad), "--store", str(store), ok=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not store.exists()


def test_search_without_store_says_what_to_do(tmp_path):
    proc = run("search", "anything", "--store", str(tmp_path / "none"), ok=False)
    assert proc.returncode == 2 and "paper-assistant ingest" in proc.stderr


def test_bad_settings_file_names_the_key(tmp_path):
    cfg = tmp_path / "pa.toml"
    cfg.write_text('[llm]\nbakend = "x"\n')
    proc = run("stats", "--config", str(cfg), ok=False)
    assert proc.returncode == 2 and "llm.bakend" in proc.stderr and str(cfg) in proc.stderr


def test_a_command_module_that_fails_to_import_is_an_error():
    """The command list is explicit: a broken command module stops the program instead of losing its commands."""
    code = ("import sys; sys.modules['assistant.cli.serve'] = None\n"
            "from assistant.cli.main import main\nmain(['--help'])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode != 0 and "assistant.cli.serve" in proc.stderr


def in_process(capsys: pytest.CaptureFixture[str], *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    """The same command through `main` in this process: its exit code and what it printed, without paying for a
    new interpreter importing torch (the tests above run the real executable)."""
    from assistant.cli.main import main

    code = main(list(args))
    out = capsys.readouterr()
    if ok:
        assert code == 0, out.err
    return subprocess.CompletedProcess(args, code, out.out, out.err)


def test_table_and_related_commands(store_copy, capsys):
    leti = "LeTI: Learning to Generate from Textual Interactions"
    run = functools.partial(in_process, capsys)
    proc = run("table", "--papers", leti, "Learning to Generate from Textual", "--columns", "task", "dataset",
               "--model", "extractive", "--format", "json", "--store", str(store_copy))
    table = json.loads(proc.stdout)
    assert table["columns"] == ["task", "dataset"] and table["model"] == "extractive"
    [row] = table["rows"]  # the title and the unique part of it are one paper
    assert row["title"] == leti and "code generation" in row["cells"][0]["value"] and row["cells"][0]["evidence"]
    assert "row 1/1" in proc.stderr
    csv_out = run("table", "--papers", leti, "--columns", "dataset", "--model", "extractive", "--format", "csv",
                  "--store", str(store_copy)).stdout
    assert csv_out.splitlines()[0] == "n,title,url,dataset,dataset (evidence)"
    bad = run("table", "--papers", "no such paper zzz", "--columns", "x", "--model", "extractive",
              "--store", str(store_copy), ok=False)
    assert bad.returncode == 2 and bad.stderr.startswith("error: paper 'no such paper zzz'")
    rel = json.loads(run("related", row["paper_id"], "--k", "3", "--json", "--store", str(store_copy)).stdout)
    assert rel["title"] == leti and len(rel["related"]) == 3
    assert row["paper_id"] not in {r["paper_id"] for r in rel["related"]}


# -- ask while it works: the preview first, what the model does, Ctrl-C ------------------------------------------

LETI_Q = "How does LeTI use error messages from the Python interpreter?"


def test_ask_prints_the_preview_then_the_checked_answer(built_store):
    out = run("ask", LETI_Q, "--store", str(built_store), "--model", "fake")
    assert out.stdout.startswith("Preview (the sources' own sentences")
    preview, _, rest = out.stdout.partition("\n\n")
    assert re.search(r"\[[1-5]\]", preview) and "LeTI" in preview
    assert "Sources:" in rest and "[1]" in rest
    assert "(fake is reading 5 sources" in out.stderr
    as_json = json.loads(run("ask", LETI_Q, "--store", str(built_store), "--model", "fake", "--json").stdout)
    assert "Preview" not in json.dumps(as_json)  # machine-readable output holds the checked answer only


class SlowServer(BaseHTTPRequestHandler):
    """An OpenAI-compatible server that streams one word every 0.2 s for a minute, and notes a hang-up."""

    hung_up: ClassVar[list[float]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        try:
            for _ in range(300):
                chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "slow",
                         "choices": [{"index": 0, "delta": {"content": "LeTI "}, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            SlowServer.hung_up.append(time.monotonic())

    def log_message(self, *args: object) -> None:
        pass


def test_ctrl_c_stops_the_model_at_once_and_exits_130(built_store):
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {**os.environ, "PAPER_ASSISTANT_LLM__BACKEND": "openai", "PAPER_ASSISTANT_LLM__MODEL": "slow",
           "PAPER_ASSISTANT_LLM__BASE_URL": f"http://127.0.0.1:{server.server_address[1]}/v1"}
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "ask", LETI_Q, "--store", str(built_store)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        err: list[str] = []
        reader = threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)
        reader.start()
        deadline = time.monotonic() + 120
        while not any("is reading 5 sources" in line for line in err) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.5)  # the model is writing now
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        code = proc.wait(timeout=20)
        took = time.monotonic() - sent
        reader.join(5)
    finally:
        proc.kill()
        server.shutdown()
    assert SlowServer.hung_up and SlowServer.hung_up[-1] - sent < 2  # the model's server saw the client go at once
    assert code == 130 and took < 20, (code, took, err)  # then the process exits (interpreter shutdown included)
    assert any("stopped: no checked answer" in line for line in err)
    assert "Preview" in proc.stdout.read()
