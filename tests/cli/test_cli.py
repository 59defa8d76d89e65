"""The command line, run as a real subprocess on a real store (the table and related commands through `main` in
this process)."""

from __future__ import annotations

import functools
import json
import subprocess
import sys

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
