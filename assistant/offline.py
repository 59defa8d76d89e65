"""Turns off every outside network call the stack would make (hub downloads, telemetry, analytics).

Call `enforce_offline()` before importing torch, transformers, chromadb, gradio or llama-index.
It only sets environment variables; it never overrides a value the user set explicitly,
except the hub-offline switch, which the product depends on.
"""

from __future__ import annotations

import os

_DEFAULTS = {
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",  # chromadb's own switch
    "TOKENIZERS_PARALLELISM": "false",
    "DO_NOT_TRACK": "1",
}


def enforce_offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    for key, value in _DEFAULTS.items():
        os.environ.setdefault(key, value)
