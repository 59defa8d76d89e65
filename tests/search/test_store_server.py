"""Chroma in client-server mode: the `chroma` server the chromadb package installs, on loopback."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support import CORPUS, ROOT

CHROMA = Path(sys.executable).parent / "chroma"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chroma_url(tmp_path):
    if not CHROMA.exists() and not shutil.which("chroma"):
        pytest.fail("the chroma server command is missing from the venv")
    port = free_port()
    proc = subprocess.Popen([str(CHROMA), "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={"ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma server did not start in 60 s")
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)


def test_ingest_and_search_through_a_chroma_server(chroma_url, tmp_path):
    cfg = tmp_path / "pa.toml"
    cfg.write_text(f'[store]\nurl = "{chroma_url}"\npath = "{tmp_path / "local"}"\n')
    out = cli("ingest", str(CORPUS / "000_7e1647b1c5aa1152.txt"), "--config", str(cfg), "--json", "--quiet")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["papers_new"] == 72
    stats = json.loads(cli("stats", "--config", str(cfg), "--json").stdout)
    assert stats["papers"] == 72 and stats["store"] == chroma_url
    res = json.loads(cli("search", "textual feedback from a Python interpreter", "--config", str(cfg), "--json")
                     .stdout)
    assert res["results"][0]["title"].startswith("LeTI")
    assert not (tmp_path / "local" / "chroma.sqlite3").exists()  # vectors live on the server; only BM25 is local


def test_unreachable_server_is_a_clear_error(tmp_path):
    cfg = tmp_path / "pa.toml"
    cfg.write_text(f'[store]\nurl = "http://127.0.0.1:{free_port()}"\n')
    proc = cli("stats", "--config", str(cfg))
    assert proc.returncode == 2 and "store.url" in proc.stderr and "unreachable" in proc.stderr
