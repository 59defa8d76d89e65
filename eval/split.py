"""Split newly written questions into dev and test: a seeded draw, stratified by type, so that both splits have
every kind of question. Run once when questions are added; the splits are then fixed files under eval/.

    python eval/split.py eval/new_questions.jsonl --dev-share 0.35 --seed 12

Questions already in dev.jsonl or test.jsonl (by id) keep their split.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("new", type=Path)
    parser.add_argument("--dev-share", type=float, default=0.35)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    splits = {name: [json.loads(x) for x in (HERE / f"{name}.jsonl").read_text().splitlines() if x.strip()]
              if (HERE / f"{name}.jsonl").exists() else [] for name in ("dev", "test")}
    known = {q["id"] for qs in splits.values() for q in qs}
    by_type: dict[str, list[dict]] = defaultdict(list)
    for line in args.new.read_text().splitlines():
        if line.strip() and (q := json.loads(line))["id"] not in known:
            by_type[q["type"]].append(q)
    rng = random.Random(args.seed)
    for _kind, qs in sorted(by_type.items()):
        rng.shuffle(qs)
        cut = round(len(qs) * args.dev_share)
        splits["dev"] += qs[:cut]
        splits["test"] += qs[cut:]
    for name, qs in splits.items():
        (HERE / f"{name}.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in qs))
        counts = defaultdict(int)
        for q in qs:
            counts[q["type"]] += 1
        print(name, len(qs), dict(counts))


if __name__ == "__main__":
    main()
