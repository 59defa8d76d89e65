"""Import counts and times for each sample library format in tests/data/: papers, skipped entries, chunks, the
time to read the file and the time to embed and write it into an empty store (one warm process).

    PYTHONPATH=. .venv/bin/python bench/formats.py
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from assistant.config import EmbeddingSettings, Settings
from assistant.ingest.corpus import read_paths
from assistant.ingest.index import ingest
from assistant.search.embeddings import load_embedder

SAMPLES = ["library.bib", "library.ris", "library.json", "arxiv.atom", "zotero"]
DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def main() -> None:
    embedder = load_embedder(EmbeddingSettings())
    embedder.get_text_embedding("warm up")
    print("| sample | papers | skipped | chunks | reading | embedding + writing |")
    print("|---|---|---|---|---|---|")
    for name in SAMPLES:
        start = time.perf_counter()
        result = read_paths([DATA / name])
        read = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings.model_validate({"store": {"path": str(Path(tmp) / "index")}})
            report = ingest(result.papers, settings, embedder, files=len(result.files), progress=False)
        print(f"| {name} | {len(result.papers)} | {len(result.skipped)} | {report.chunks_embedded} | {read:.2f} s "
              f"| {report.seconds:.1f} s |")


if __name__ == "__main__":
    main()
