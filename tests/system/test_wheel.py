"""The package installs like a library: `pip install .` (not editable) into a fresh venv, then, from an empty
directory, ingest the built-in corpus, search, ask with the extractive backend, and serve a page that answers.

The fresh venv sees the test venv's third-party packages through a .pth line (installing torch and the rest again
would take minutes and gigabytes); the project itself comes only from the wheel, so a file the wheel lacks (a
prompt, the corpus) fails here."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sysconfig
import time
import venv
from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    env_dir = tmp_path_factory.mktemp("wheel") / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "test-venv-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # pip and setuptools come from the test venv too: no build isolation, so nothing is downloaded.
    subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "-q",
                    str(ROOT)], check=True, timeout=600)
    found = subprocess.run([str(py), "-c", "import assistant; print(assistant.__file__)"], capture_output=True,
                           text=True, check=True, cwd=env_dir).stdout.strip()  # not from the checkout's cwd
    assert found.startswith(site), f"assistant imported from {found}, not from the installed wheel"
    return env_dir


def run(env_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(env_dir / "bin" / "paper-assistant"), *args], capture_output=True, text=True,
                          cwd=cwd, timeout=900, env={**os.environ, "PYTHONPATH": ""})
    assert proc.returncode == 0, proc.stderr
    return proc


def test_installed_wheel_works_from_an_empty_directory(installed, tmp_path):
    work = tmp_path / "empty"
    work.mkdir()
    ingested = json.loads(run(installed, work, "ingest", "--quiet", "--json").stdout)
    assert ingested["files"] == 5 and ingested["papers_seen"] == 511
    assert (work / "data" / "index" / "chroma.sqlite3").is_file()  # relative to the working directory

    hits = json.loads(run(installed, work, "search", "Half Fine-Tuning", "--json").stdout)["results"]
    assert hits[0]["title"].startswith("HFT")
    answer = json.loads(run(installed, work, "ask", "What does HFT do?", "--model", "extractive", "--json").stdout)
    assert not answer["refused"] and answer["citations"]

    port = _free_port()
    server = subprocess.Popen([str(installed / "bin" / "paper-assistant"), "serve", "--model", "extractive",
                               "--port", str(port)], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = server.stdout.readline() if server.stdout else ""
            if "Paper Assistant on" in line or server.poll() is not None:
                break
        assert server.poll() is None, "serve exited"
        from gradio_client import Client

        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        chat, _panel, _box = client.predict("What does HFT do?", [], "extractive", 5, True, False, api_name="/chat")
        assert "[1]" in str(chat[-1]["content"])
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
