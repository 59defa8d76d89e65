"""Search benchmark: p50/p95 latency of dense and hybrid retrieval at 511 papers (the built-in corpus, real
embeddings) and at 10k and 100k generated abstracts, plus index size on disk and the process's memory.

At 10k/100k the chunk vectors are *composed*, not encoded: each generated abstract is made of sentences of the
built-in abstracts (bench/scale_corpus.py), every such sentence is embedded once with the real model, and a
chunk's vector is the normalised mean of its sentences' vectors. Encoding 100k abstracts for real would take
~1.5 h on 2 cores (bench/ingest.py measures the rate); search cost depends on the number and size of vectors and
BM25 documents, not on how the vectors were made. Queries are embedded by the real model.

Hybrid+rerank uses a cross-encoder with the packaged MiniLM's layers and an untrained one-logit head (no trained
cross-encoder installs from PyPI here): its ranking is meaningless, its cost is that of a MiniLM-L6 cross-encoder
(the common ms-marco-MiniLM-L-6 size) scoring `retrieval.candidates` (30) papers per query.

    python bench/search.py [--sizes 511 10000 100000] [--repeat 3]
    python bench/search.py --plot-only     # redraw bench/search.png from the last run's bench/out/search.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from common import OUT, ROOT, dir_size_mb, p50, pct, write_section
from scale_corpus import generate

from assistant.config import Settings
from assistant.ingest.corpus import read_file, read_paths
from assistant.ingest.index import ingest
from assistant.search.embeddings import load_embedder
from assistant.search.retriever import Retriever
from assistant.search.store import PaperStore
from assistant.text import split_sentences


class ComposedEmbedder:
    """get_text_embedding_batch() from cached sentence vectors of the real model (bench only)."""

    def __init__(self, real, sentences: list[str]) -> None:
        unique = sorted(set(sentences))
        vectors = np.asarray(real._model.encode(unique, batch_size=64, normalize_embeddings=True))
        self.cache = dict(zip(unique, vectors, strict=True))
        self.real = real

    def get_text_embedding_batch(self, texts: list[str], **_: object) -> list[list[float]]:
        out = []
        for text in texts:
            body = text.split("\n", 1)[-1]
            parts = [self.cache[s] for s in split_sentences(body) if s in self.cache]
            vec = np.mean(parts, axis=0) if parts else np.asarray(self.real.get_text_embedding(body))
            out.append((vec / np.linalg.norm(vec)).tolist())
        return out


def store_for(size: int, real) -> Path:
    path = OUT / f"store-{size}"
    settings = Settings.model_validate({"store": {"path": str(path)}})
    if size == 511:
        papers = read_paths([ROOT / "data" / "corpus"]).papers
        ingest(papers, settings, real, progress=True)
        return path
    data = OUT / f"scale-{size}.jsonl"
    if not data.exists():
        data.parent.mkdir(parents=True, exist_ok=True)
        with data.open("w") as fh:
            for record in generate(size):
                fh.write(json.dumps(record) + "\n")
    papers = read_file(data)
    sentences = [s for p in read_paths([ROOT / "data" / "corpus"]).papers for s in split_sentences(p.abstract)]
    ingest(papers, settings, ComposedEmbedder(real, sentences), progress=True)
    return path


def cross_encoder_dir() -> Path:
    """A MiniLM-L6 cross-encoder (untrained head) under bench/out, built once from the packaged encoder."""
    out = OUT / "cross-encoder-minilm"
    if not (out / "config.json").exists():
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from assistant.search.embeddings import PACKAGED_EMBEDDING, resolve_model_path

        source = resolve_model_path(PACKAGED_EMBEDDING)
        torch.manual_seed(0)
        AutoModelForSequenceClassification.from_pretrained(source, num_labels=1, local_files_only=True) \
            .save_pretrained(out)
        AutoTokenizer.from_pretrained(source, local_files_only=True).save_pretrained(out)
    return out


PLOT = Path(__file__).resolve().parent / "search.png"
ROWS = OUT / "search.json"


def plot(rows: list[list[float | str]]) -> None:
    """p50 and p95 latency against corpus size, one line per mode, log-scaled x (bench/search.png)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, modes, title in ((axes[0], ("dense", "hybrid"), "dense and hybrid"), (axes[1], ("hybrid+rerank",),
                                                                                   "hybrid + cross-encoder rerank")):
        for mode in modes:
            mine = [r for r in rows if r[1] == mode]
            sizes = [float(r[0]) for r in mine]
            ax.plot(sizes, [float(r[2]) for r in mine], marker="o", label=f"{mode} p50")
            ax.plot(sizes, [float(r[3]) for r in mine], marker="x", linestyle="--", label=f"{mode} p95")
        if "hybrid" in modes:
            ax.plot([511], [30], "k^", label="target p50 at 511")
            ax.plot([100_000], [100], "kv", label="target p50 at 100k")
        ax.set_xscale("log")
        ax.set_xlabel("papers in the store")
        ax.set_ylabel("ms per search (k=5)")
        ax.set_title(title)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
    fig.suptitle("Search latency on 2 CPU cores (bench/search.py)")
    fig.tight_layout()
    fig.savefig(PLOT, dpi=100)
    plt.close(fig)


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[511, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--plot-only", action="store_true", help="redraw the plot from bench/out/search.json")
    args = parser.parse_args()
    if args.plot_only:
        plot(json.loads(ROWS.read_text()))
        print(f"wrote {PLOT}")
        return
    queries = [json.loads(line)["question"] for line in (ROOT / "eval" / "questions.jsonl").read_text().splitlines()]
    real = load_embedder(Settings().embedding)
    rows = []
    for size in args.sizes:
        start = time.perf_counter()
        path = store_for(size, real)
        built = time.perf_counter() - start
        settings = Settings.model_validate({"store": {"path": str(path)},
                                            "retrieval": {"reranker_path": str(cross_encoder_dir())}})
        before = rss_mb()
        retriever = Retriever(settings, PaperStore(settings), real)
        retriever.keyword  # noqa: B018 - load BM25 before timing
        for q in queries[:3]:
            retriever.search(q, 5)
        loaded = rss_mb()
        retriever.search(queries[0], 5, rerank=True)  # load the cross-encoder before timing
        for mode, hybrid, rerank in (("dense", False, False), ("hybrid", True, False), ("hybrid+rerank", True, True)):
            times = []
            for _ in range(args.repeat if not rerank else 1):
                for q in queries:
                    t = time.perf_counter()
                    retriever.search(q, 5, hybrid=hybrid, rerank=rerank)
                    times.append(time.perf_counter() - t)
            rows.append((size, mode, p50(times) * 1000, pct(times, 95) * 1000, dir_size_mb(path), loaded,
                         loaded - before, built))
            print(f"{size:>7} {mode:13} p50 {rows[-1][2]:6.1f} ms  p95 {rows[-1][3]:6.1f} ms  "
                  f"disk {rows[-1][4]:7.1f} MB  rss {loaded:6.0f} MB", flush=True)
    target = {511: 30.0, 100_000: 100.0}
    lines = ["| papers | mode | p50 ms | p95 ms | target p50 | ratio to target | store on disk MB | process RSS MB |"
             " RSS added by the store MB | build s |", "|" + "---|" * 10]
    for size, mode, m50, m95, disk, rss, added, built in rows:
        t = target.get(size) if mode == "hybrid" else None
        lines.append(f"| {size:,} | {mode} | {m50:.1f} | {m95:.1f} | {t or '–'} | "
                     f"{(f'{m50 / t:.2f}' if t else '–')} | {disk:.0f} | {rss:.0f} | {added:.0f} | {built:.0f} |")
    table = "\n".join(lines)
    print(table)
    ROWS.write_text(json.dumps(rows))
    plot(rows)
    write_section("Search", f"`python bench/search.py --sizes {' '.join(map(str, args.sizes))}`: "
                            f"{len(queries)} eval questions × {args.repeat} (× 1 with rerank), k=5; "
                            "rerank = a MiniLM-L6 cross-encoder over 30 candidates (cost only, untrained head). "
                            "10k/100k vectors are composed from real sentence embeddings (see the script's "
                            "docstring).\n\n" + table + "\n\n![Search latency against corpus size](search.png)")


if __name__ == "__main__":
    main()
