"""Ask a running Paper Assistant (`paper-assistant serve`) a question with the official `openai` client and print
the answer with the papers it cites. Needs only `pip install openai`.

    python docs/examples/openai_ask.py "What does DePT decompose the soft prompt into?"
    python docs/examples/openai_ask.py --base-url http://host:7860/v1 --api-key user:password --stream "..."
"""

from __future__ import annotations

import argparse

from openai import OpenAI


def main() -> None:
    parser = argparse.ArgumentParser(description="Ask Paper Assistant through its OpenAI-compatible API.")
    parser.add_argument("question")
    parser.add_argument("--base-url", default="http://127.0.0.1:7860/v1")
    parser.add_argument("--api-key", default="none", help="user:password when the app has a login")
    parser.add_argument("--model", help="a backend from GET /v1/models (default: the server's)")
    parser.add_argument("--stream", action="store_true")
    args = parser.parse_args()

    client = OpenAI(base_url=args.base_url, api_key=args.api_key)
    model = args.model or client.models.list().data[0].id
    messages = [{"role": "user", "content": args.question}]
    if args.stream:
        text, extra = "", {}
        for chunk in client.chat.completions.create(model=model, messages=messages, stream=True):
            text += chunk.choices[0].delta.content or ""
            extra = chunk.model_extra or extra  # the last chunk carries citations and sources
    else:
        response = client.chat.completions.create(model=model, messages=messages)
        text, extra = response.choices[0].message.content, response.model_extra
    print(text)
    if extra.get("refused"):
        return
    print("\nCited papers:")
    for citation in extra["citations"]:
        mark = "" if citation["supported"] else "  (not supported by its source)"
        print(f"  [{citation['n']}] {citation['title']}{mark}\n      {citation['url']}")


if __name__ == "__main__":
    main()
