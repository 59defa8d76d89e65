"""Answer benchmark with the embedded default model: time to first token, decode tokens/s and total for a
factual and a comparison question; prompt size in tokens; whether the answer was cut at its output budget, against
the first round's single budget for every kind (same model, same run); and the ratio of our speed to llama.cpp's raw
speed on the same messages (the overhead the pipeline adds). Each run starts with the KV cache reset (cold prefill); a
second, warm run shows what reusing the fixed system-prompt prefix saves.

    python bench/answer.py [--store data/index]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import ROOT, cpu_flags, write_section

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
    app = build(settings)
    pipeline = app.pipeline
    backend = pipeline.backends.get()
    llm = backend.load()  # join/verify/load outside the timings
    # The first round's configuration, on the same model in the same process: one output budget for every kind.
    cap = settings.llm.max_tokens
    first_round = build(load_settings(overrides={**overrides, "llm": {"max_tokens_comparison": cap,
                                                                       "max_tokens_topic": cap}}),
                        backend=backend, embedder=app.embedder).pipeline
    rows = []
    for kind, question, other in QUESTIONS:
        # warm: another question right after, KV cache kept: only the fixed system-prompt prefix is reused
        ours(pipeline, llm, other, reset=True)
        warm = ours(pipeline, llm, question, reset=False)
        cold = ours(pipeline, llm, question, reset=True)
        before = ours(first_round, llm, question, reset=True)
        retrieval = pipeline.retrieve(question)
        budget = pipeline.max_tokens(retrieval.kind)
        sources = pipeline.sources_for(question, retrieval)
        messages = pipeline.messages(question, retrieval, sources)
        llm.reset()
        prompt_tokens = llm.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0)["usage"][
            "prompt_tokens"]
        r = raw(llm, messages, budget)
        ours_prefill = prompt_tokens / (cold["first"] - cold["retrieve"])
        raw_prefill = prompt_tokens / r["first"]
        ours_decode = (cold["out_tokens"] - 1) / max(1e-6, cold["total"] - cold["first"])
        raw_decode = (r["chunks"] - 1) / max(1e-6, r["total"] - r["first"])
        rows.append((kind, prompt_tokens, budget, cold, warm, before, ours_prefill, raw_prefill, ours_decode,
                     raw_decode))
        print(f"{kind}: prompt {prompt_tokens} tok, first token {cold['first']:.1f}s (warm {warm['first']:.1f}s), "
              f"total {cold['total']:.1f}s, {cold['out_tokens']} of {budget} tok; with {cap} for every kind: "
              f"first token {before['first']:.1f}s, total {before['total']:.1f}s, {before['out_tokens']} tok",
              flush=True)
    lines = [
        "| question | prompt tokens | first token s | first token after another question s | budget | tokens out "
        "| whole answer s | cut at the budget | with one budget of " + str(cap) + ": first token s, total s, tokens "
        "out, cut | ratio first token, total | prefill tok/s ours / raw | decode tok/s ours / raw |",
        "|" + "---|" * 12,
    ]
    for kind, pt, budget, cold, warm, before, op, rp, od, rd in rows:
        cut = "yes" if cold["out_tokens"] >= budget else "no"
        cut_before = "yes" if before["out_tokens"] >= cap else "no"
        lines.append(f"| {kind} | {pt} | {cold['first']:.1f} | {warm['first']:.1f} | {budget} | "
                     f"{cold['out_tokens']} | {cold['total']:.1f} | {cut} | {before['first']:.1f}, "
                     f"{before['total']:.1f}, {before['out_tokens']}, {cut_before} | "
                     f"{cold['first'] / before['first']:.2f}, {cold['total'] / before['total']:.2f} | "
                     f"{op:.0f} / {rp:.0f} | {od:.1f} / {rd:.1f} |")
    table = "\n".join(lines)
    print(f"cpu: {cpu_flags()}")
    print(table)
    flag = f" --k {args.k}" if args.k else ""
    write_section("Answers" + (f" with k={args.k}" if args.k else ""),
                  f"`python bench/answer.py{flag}`, {time.strftime('%Y-%m-%d')}, CPU flags: {cpu_flags()}: "
                  f"{settings.llm.backend}, k={settings.retrieval.k}, source_tokens "
                  f"{settings.retrieval.source_tokens}, each kind's output budget (`llm.max_tokens*`) against the "
                  f"first round's single budget of {cap} in the same run; cold = KV cache reset first; a tokens-out "
                  f"count equal to the budget means the answer was cut.\n\n{table}")


if __name__ == "__main__":
    main()
