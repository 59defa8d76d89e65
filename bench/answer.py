"""Answer benchmark with the embedded default model: time to first token, decode tokens/s and total for a
factual and a comparison question; prompt size in tokens; and the ratio of our speed to llama.cpp's raw speed on
the same messages (the overhead the pipeline adds). Each run starts with the KV cache reset (cold prefill); a
second, warm run shows what reusing the fixed system-prompt prefix saves.

    python bench/answer.py [--store data/index]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import ROOT, write_section

from assistant.answer.pipeline import Finished, Pipeline, SourcesFound, TextDelta
from assistant.app import build
from assistant.config import load_settings

QUESTIONS = [  # (kind, question, a different question of the same kind for the warm run)
    ("factual", "How does LeTI use error messages from the Python interpreter?",
     "What does DePT decompose the soft prompt into?"),
    ("comparison", "How does LeTI differ from DePT?", "Compare HFT and ReFT."),
]


def ours(pipeline: Pipeline, llm, question: str, reset: bool) -> dict:
    if reset:
        llm.reset()
    start = time.perf_counter()
    first = retrieved = None
    text = ""
    answer = None
    for event in pipeline.stream(question):
        if isinstance(event, SourcesFound):
            retrieved = time.perf_counter() - start
        elif isinstance(event, TextDelta):
            if first is None:
                first = time.perf_counter() - start
            text += event.text
        elif isinstance(event, Finished):
            answer = event.answer
    total = time.perf_counter() - start
    return {"first": first, "total": total, "retrieve": retrieved, "out_tokens": len(llm.tokenize(text.encode())),
            "answer": answer}


def raw(llm, messages: list, max_tokens: int) -> dict:
    llm.reset()
    start = time.perf_counter()
    first = None
    n = 0
    for chunk in llm.create_chat_completion(messages=messages, stream=True, temperature=0.0, max_tokens=max_tokens):
        if chunk["choices"][0]["delta"].get("content"):
            n += 1
            if first is None:
                first = time.perf_counter() - start
    return {"first": first, "total": time.perf_counter() - start, "chunks": n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=ROOT / "data" / "index")
    parser.add_argument("--k", type=int, help="sources per answer (retrieval.k); the figures go to their own section")
    args = parser.parse_args()
    overrides: dict = {"store": {"path": str(args.store)}}
    if args.k:
        overrides["retrieval"] = {"k": args.k}
    settings = load_settings(overrides=overrides)
    pipeline = build(settings).pipeline
    llm = pipeline.backends.get().load()  # join/verify/load outside the timings
    rows = []
    for kind, question, other in QUESTIONS:
        # warm: another question right after, KV cache kept: only the fixed system-prompt prefix is reused
        ours(pipeline, llm, other, reset=True)
        warm = ours(pipeline, llm, question, reset=False)
        cold = ours(pipeline, llm, question, reset=True)
        retrieval = pipeline.retrieve(question)
        sources = pipeline.sources_for(question, retrieval)
        messages = pipeline.messages(question, retrieval, sources)
        llm.reset()
        prompt_tokens = llm.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0)["usage"][
            "prompt_tokens"]
        r = raw(llm, messages, settings.llm.max_tokens)
        ours_prefill = prompt_tokens / (cold["first"] - cold["retrieve"])
        raw_prefill = prompt_tokens / r["first"]
        ours_decode = (cold["out_tokens"] - 1) / max(1e-6, cold["total"] - cold["first"])
        raw_decode = (r["chunks"] - 1) / max(1e-6, r["total"] - r["first"])
        rows.append((kind, prompt_tokens, cold, warm, r, ours_prefill, raw_prefill, ours_decode, raw_decode))
        print(f"{kind}: prompt {prompt_tokens} tok, first token {cold['first']:.1f}s (warm {warm['first']:.1f}s), "
              f"total {cold['total']:.1f}s, {cold['out_tokens']} tok out", flush=True)
    lines = [
        "| question | prompt tokens | first token s (target ≤ 5) | first token after another question s "
        "| total s (target ≤ 20) "
        "| tokens out | prefill tok/s ours / raw | decode tok/s ours / raw | ratio prefill, decode |",
        "|" + "---|" * 9,
    ]
    for kind, pt, cold, warm, _raw, op, rp, od, rd in rows:
        lines.append(f"| {kind} | {pt} | {cold['first']:.1f} | {warm['first']:.1f} | {cold['total']:.1f} | "
                     f"{cold['out_tokens']} | {op:.0f} / {rp:.0f} | {od:.1f} / {rd:.1f} | "
                     f"{op / rp:.2f}, {od / rd:.2f} |")
    table = "\n".join(lines)
    print(table)
    flag = f" --k {args.k}" if args.k else ""
    write_section("Answers" + (f" with k={args.k}" if args.k else ""),
                  f"`python bench/answer.py{flag}`: {settings.llm.backend}, max_tokens {settings.llm.max_tokens}, "
                  f"k={settings.retrieval.k}, source_tokens {settings.retrieval.source_tokens}; "
                  f"cold = KV cache reset first.\n\n{table}")


if __name__ == "__main__":
    main()
