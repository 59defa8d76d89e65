"""Start-up benchmark: seconds from `python app.py` (venv present, index built) to a page that serves, and to
the first answer over HTTP; and the wall time of one `paper-assistant ask` with the default model.

    python bench/startup.py
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx
from common import ROOT, write_section

QUESTION = "What does DePT decompose the soft prompt into?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_startup() -> tuple[float, float]:
    from gradio_client import Client

    port = free_port()
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        while time.perf_counter() - start < 300:
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        page = time.perf_counter() - start
        Client(url, verbose=False).predict(QUESTION, [], "qwen2.5-coder-1.5b", 5, True, False, api_name="/chat")
        return page, time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def ask_time() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "assistant.cli", "ask", QUESTION], cwd=ROOT, check=True,
                   capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    page, answered = app_startup()
    ask = ask_time()
    table = ("| measure | seconds |\n|---|---|\n"
             f"| `python app.py` → page served | {page:.1f} |\n"
             f"| `python app.py` → first answer over HTTP (the model loads in the background) | {answered:.1f} |\n"
             f"| `paper-assistant ask` (whole process, default model) | {ask:.1f} |")
    print(table)
    write_section("Start-up", f"`python bench/startup.py`, question: “{QUESTION}”.\n\n{table}")


if __name__ == "__main__":
    main()
