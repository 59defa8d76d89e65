"""What the HTTP API adds to an answer: p50 over N calls of `Pipeline.ask` in-process against p50 of the same
question through `POST /v1/chat/completions` with the official `openai` client (and the same streamed), with the
fake backend so that only retrieval, checking and serving are timed. Calls alternate (direct, API, stream) so a
shared machine's load drifts over all three alike.

    python bench/api_latency.py [--store data/index] [--n 100]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import cpu_flags, p50, pct, write_section

from assistant.app import build
from assistant.config import load_settings

QUESTION = "How does LeTI use error messages from the Python interpreter?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path("data/index"))
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--write", action="store_true", help="write the figures into bench/RESULTS.md")
    args = parser.parse_args()

    import openai

    from assistant.ui.page import build_app
    from assistant.ui.serve import serve

    settings = load_settings(None, {"store": {"path": str(args.store)}, "llm": {"backend": "fake"},
                                    "ui": {"port": 0}})
    app = build(settings)
    options = app.pipeline.options()
    served = serve(app, build_app(app), settings)
    client = openai.OpenAI(base_url=served.url + "v1", api_key="unused", max_retries=0)
    messages = [{"role": "user", "content": QUESTION}]

    def direct() -> str:
        return app.pipeline.ask(QUESTION, [], options).answer

    def api() -> str:
        return client.chat.completions.create(model="fake", messages=messages).choices[0].message.content

    def streamed() -> str:
        return "".join(c.choices[0].delta.content or "" for c in
                       client.chat.completions.create(model="fake", messages=messages, stream=True))

    try:
        assert direct() == api() == streamed(), "the API must return the pipeline's answer"
        for _ in range(5):  # warm: BM25 loaded, connections open, caches filled
            direct(), api(), streamed()
        times: dict[str, list[float]] = {"direct": [], "api": [], "stream": []}
        for _ in range(args.n):
            for name, fn in (("direct", direct), ("api", api), ("stream", streamed)):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    finally:
        served.close()
        app.close()

    d, a, s = (p50(times[k]) * 1000 for k in ("direct", "api", "stream"))
    lines = [
        f"cpu: {cpu_flags()}; {args.n} calls each, alternating; fake backend; question: {QUESTION!r}",
        f"Pipeline.ask in-process        p50 {d:7.1f} ms   p90 {pct(times['direct'], 90) * 1000:7.1f} ms",
        f"POST /v1/chat/completions      p50 {a:7.1f} ms   p90 {pct(times['api'], 90) * 1000:7.1f} ms",
        f"  the same, stream=True        p50 {s:7.1f} ms   p90 {pct(times['stream'], 90) * 1000:7.1f} ms",
        f"API added (p50): {a - d:+.1f} ms, ratio {a / d:.2f}x; streamed {s - d:+.1f} ms, ratio {s / d:.2f}x",
    ]
    print("\n".join(lines))
    if args.write:
        write_section("API latency over Pipeline.ask (fake backend)",
                      "`python bench/api_latency.py`\n\n```\n" + "\n".join(lines) + "\n```")


if __name__ == "__main__":
    main()
