"""The suite's network guard works, and the product's entry points switch the stack offline."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from tests.support import ROOT, NetworkBlocked


def test_outside_connections_fail_loudly():
    with socket.socket() as s, pytest.raises(NetworkBlocked):
        s.connect(("93.184.216.34", 80))


def test_loopback_is_allowed():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket() as client:
            client.connect(server.getsockname())


def test_cli_sets_offline_env_before_libraries_load():
    code = (
        "import os, sys; from assistant.cli.main import main; from assistant.offline import enforce_offline;"
        "enforce_offline();"
        "heavy = [m for m in ('torch', 'chromadb', 'gradio', 'llama_index.core') if m in sys.modules];"
        "print(os.environ['HF_HUB_OFFLINE'], os.environ['GRADIO_ANALYTICS_ENABLED'],"
        " os.environ['ANONYMIZED_TELEMETRY'],"
        " os.environ['HF_HUB_DISABLE_TELEMETRY'], heavy)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "GRADIO_", "ANONYMIZED"))}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                         check=True).stdout.split(maxsplit=4)
    assert out[:4] == ["1", "False", "False", "1"]
    assert out[4].strip() == "[]"  # importing the CLI loads none of the heavy libraries
