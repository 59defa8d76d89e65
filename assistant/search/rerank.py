"""Optional reranking with a local sentence-transformers cross-encoder (retrieval.reranker_path).

Off by default: no reranker on PyPI ships usable weights here, so nothing is downloaded; a missing path is
an error naming the setting.
"""

from __future__ import annotations

from typing import Any

from assistant.config import ConfigError, RetrievalSettings


def load_reranker(settings: RetrievalSettings) -> Any:
    path = settings.reranker_path
    if path is None:
        raise ConfigError("retrieval.reranker_path: reranking is on (retrieval.rerank) but no cross-encoder "
                          "directory is set")
    path = path.expanduser()
    if not (path / "config.json").is_file():
        raise ConfigError(f"retrieval.reranker_path = {str(path)!r}: not a local cross-encoder directory "
                          "(no config.json)")
    from sentence_transformers import CrossEncoder

    return CrossEncoder(str(path), device="cpu", local_files_only=True)
