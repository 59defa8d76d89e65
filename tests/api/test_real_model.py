"""The embedded default model (Qwen2.5-Coder-1.5B from the pip wheels) through the served API: the example script
with the `openai` client asks a question and prints the checked answer with its cited papers."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.support import ROOT, make_settings

pytestmark = pytest.mark.slow


def test_the_example_script_asks_the_default_model_through_the_api(built_store, embedder):
    from assistant.app import build
    from assistant.ui.page import build_app
    from assistant.ui.serve import serve

    settings = make_settings(built_store, ui={"port": 0})
    assert settings.llm.backend == "qwen2.5-coder-1.5b"
    app = build(settings, embedder=embedder)
    served = serve(app, build_app(app), settings)
    try:
        proc = subprocess.run([sys.executable, str(ROOT / "docs" / "examples" / "openai_ask.py"), "--base-url",
                               served.url + "v1", "--stream", "What does DePT decompose the soft prompt into?"],
                              capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})
    finally:
        served.close()
        app.close()
    assert proc.returncode == 0, proc.stderr
    answer, _, cited = proc.stdout.partition("\nCited papers:\n")
    assert "low-rank" in answer.lower() and re.search(r"\[\d+\]", answer), proc.stdout
    assert "DePT" in cited and "not supported" not in cited.split("DePT", 1)[1].split("\n", 2)[0], proc.stdout
