"""The `ask` and `models` commands: answer a question from the terminal, list backends and their readiness.

`ask` prints the preview (the sources' best sentences, cited) as soon as the sources are found, says on stderr
what the model is doing, streams the draft on a terminal, then prints the checked answer with its numbered
sources. Ctrl-C stops the model at once and exits with 130.
"""

from __future__ import annotations

import argparse
import json
import sys

from assistant.cli.common import add_common, add_filter_flags, filters_from, settings_from, terminal_safe


def cmd_ask(args: argparse.Namespace) -> int:
    from assistant.answer import export
    from assistant.answer.pipeline import Finished, Generating, Preview, SourcesFound, Stopped, TextDelta, Waiting
    from assistant.app import build

    fmt = "json" if args.json else args.format
    app = build(settings_from(args))
    pipeline = app.pipeline
    options = pipeline.options(filters=filters_from(args))
    live = fmt == "text" and sys.stdout.isatty()
    answer = None
    events = iter(pipeline.run(args.question, options=options))
    while True:
        try:
            event = next(events, None)
        except KeyboardInterrupt:  # a worker thread generates and this one waits, so Ctrl-C lands here at once;
            # leaving the run cancels the model and waits for it to let go (llama.cpp aborts mid-prompt)
            print("\nstopped: no checked answer.", file=sys.stderr)
            return 130
        if event is None:
            break
        if isinstance(event, SourcesFound) and fmt == "text":
            if event.standalone != args.question.strip():
                print(terminal_safe(f"(searching for: {event.standalone})"), file=sys.stderr)
            if event.filters:
                print(terminal_safe(f"(filtered: {event.filters})"), file=sys.stderr)
        elif isinstance(event, Preview) and fmt == "text":
            print(terminal_safe(f"Preview (the sources' own sentences, not yet the model's answer):\n{event.text}\n"),
                  flush=True)
        elif isinstance(event, Waiting) and fmt == "text":
            print(f"(waiting for the model: {event.ahead} ahead)", file=sys.stderr, flush=True)
        elif isinstance(event, Generating) and fmt == "text":
            about = f", about {event.estimate:.0f} s" if event.estimate is not None else ""
            what = "loading the model, then reading" if event.loading else "reading"
            print(terminal_safe(f"({event.model} is {what} {event.sources} sources{about})"), file=sys.stderr,
                  flush=True)
        elif isinstance(event, TextDelta) and live:
            print(terminal_safe(event.text), end="", flush=True)
        elif isinstance(event, Stopped):
            print("\nstopped: no checked answer.", file=sys.stderr)
            return 130
        elif isinstance(event, Finished):
            answer = event.answer
    assert answer is not None
    if fmt in ("markdown", "bibtex"):
        papers = pipeline.retriever_for(options).store.first_chunks([s.paper_id for s in answer.sources])
        text = export.to_markdown(answer, papers) if fmt == "markdown" else export.to_bibtex(answer, papers)
        print(terminal_safe(text), end="")
        return 0
    if fmt == "json":
        print(export.to_json(answer), end="")
        return 0
    if live:
        print("\n" + "─" * 60)
    print(terminal_safe(answer.answer))
    print("\nSources:")
    cited = {c.n: c for c in answer.citations}
    for s in answer.sources:
        mark = " (cited)" if s.n in cited else ""
        print(terminal_safe(f"  [{s.n}] {s.title}{mark}\n      {s.url}"))
    if answer.unsupported and not answer.refused:
        print(f"\nNot supported by the sources: {len(answer.unsupported)} sentence(s).")
    t = answer.timings
    first = f"{t.first_token:.1f}s" if t.first_token is not None else "-"
    print(f"\n{answer.model} · retrieval {t.retrieve:.2f}s · first token {first} · total {t.total:.1f}s",
          file=sys.stderr)
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from assistant.llms.builtin import default_registry
    from assistant.llms.registry import BackendPool

    settings = settings_from(args)
    pool = BackendPool(default_registry(), settings.llm)  # nothing is built: only checked
    rows = []
    for name in pool.names():
        spec = pool.registry.spec(name)
        ready = pool.readiness(name)
        rows.append({"name": name, "selected": name == settings.llm.backend, "ready": ready.ready,
                     "detail": ready.detail, "description": spec.description})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        flag = "*" if r["selected"] else " "
        state = "ready" if r["ready"] else "not ready"
        print(f"{flag} {r['name']:20} {state:10} {r['detail']}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ask", help="answer a question from the indexed papers, with citations")
    p.add_argument("question")
    p.add_argument("--model", help="backend name (see `paper-assistant models`)")
    p.add_argument("--k", type=int, help="number of sources")
    p.add_argument("--format", choices=["text", "markdown", "bibtex", "json"], default="text",
                   help="text (default, streams), markdown (answer and numbered references), bibtex (the cited "
                   "papers), json (as --json)")
    add_filter_flags(p)
    add_common(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("models", help="list the backends and whether each is ready")
    add_common(p, store=False)
    p.set_defaults(func=cmd_models)
