"""Generates N realistic abstracts offline and deterministically, by recombining sentences of the built-in
abstracts under new titles, as JSONL. Never committed: the output goes to bench/out/ by default.

    python bench/scale_corpus.py 100000 [--out bench/out/scale-100000.jsonl] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from common import OUT, ROOT

from assistant.ingest.corpus import read_paths
from assistant.text import split_sentences


def generate(n: int, seed: int = 7) -> list[dict[str, str]]:
    papers = read_paths([ROOT / "data" / "corpus"]).papers
    rng = random.Random(seed)
    openers, bodies, closers = [], [], []
    for p in papers:
        sentences = split_sentences(p.abstract)
        if len(sentences) >= 3:
            openers.append(sentences[0])
            bodies.extend(sentences[1:-1])
            closers.append(sentences[-1])
    words = sorted({w for p in papers for w in p.title.replace(":", " ").split() if w.isalpha() and len(w) > 3})
    out = []
    for i in range(n):
        name = "".join(rng.choice(words)[:4].capitalize() for _ in range(2)) + str(i)
        title = f"{name}: " + " ".join(rng.sample(words, rng.randint(4, 9)))
        body = rng.sample(bodies, rng.randint(3, 6))
        abstract = " ".join([rng.choice(openers), *body, rng.choice(closers)])
        out.append({"title": title, "abstract": abstract})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    out = args.out or OUT / f"scale-{args.n}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as fh:
        for record in generate(args.n, args.seed):
            fh.write(json.dumps(record) + "\n")
    print(f"wrote {args.n} papers to {out}")


if __name__ == "__main__":
    main()
