"""Ingest benchmark: the built-in corpus from scratch (chunks/s vs raw SentenceTransformer.encode on the same
texts, same batch size, same run), then a re-ingest of the unchanged corpus (target: 0 chunks embedded).

    python bench/ingest.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from common import ROOT, peak_rss_mb, write_section

from assistant.config import Settings
from assistant.ingest.corpus import read_paths
from assistant.ingest.index import chunk_paper, embed_text, ingest, make_splitter
from assistant.search.embeddings import load_embedder, resolve_model_path


def main() -> None:
    papers = read_paths([ROOT / "data" / "corpus"]).papers
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.model_validate({"store": {"path": str(Path(tmp) / "index")}})
        splitter = make_splitter(settings.chunking)
        texts = [embed_text(c) for p in papers for c in chunk_paper(p, splitter)]
        embedder = load_embedder(settings.embedding)
        from sentence_transformers import SentenceTransformer

        raw = SentenceTransformer(str(resolve_model_path(settings.embedding.model)), device="cpu")
        raw.encode(texts[:32], batch_size=settings.embedding.batch_size)  # warm both up alike
        embedder.get_text_embedding_batch(texts[:32])

        start = time.perf_counter()
        raw.encode(texts, batch_size=settings.embedding.batch_size, normalize_embeddings=True)
        raw_rate = len(texts) / (time.perf_counter() - start)

        first = ingest(papers, settings, embedder, progress=False)
        rate = first.chunks_embedded / first.seconds
        second = ingest(papers, settings, embedder, progress=False)
    ratio = rate / raw_rate
    rows = [
        ("papers / chunks", f"{len(papers)} / {first.chunks_embedded}"),
        ("ingest from scratch", f"{first.seconds:.1f} s, {rate:.1f} chunks/s"),
        ("raw SentenceTransformer.encode, same texts", f"{raw_rate:.1f} chunks/s"),
        ("ratio ingest / raw (target ≥ 0.8)", f"{ratio:.2f}"),
        ("re-ingest unchanged corpus", f"{second.seconds:.2f} s, {second.chunks_embedded} chunks embedded (target 0)"),
        ("peak RSS", f"{peak_rss_mb():.0f} MB"),
    ]
    table = "| measure | value |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)
    print(table)
    write_section("Ingest", f"`python bench/ingest.py`, batch size {settings.embedding.batch_size}, "
                            f"chunk size {settings.chunking.chunk_size}.\n\n{table}")


if __name__ == "__main__":
    main()
