"""The layout holds: every stage imports only from the stages below it, no module is in an import circle (lazy
imports inside functions count too), nothing imports by name, and only ui/ imports gradio (api/ serves HTTP and
MCP without it; ui.serve mounts the page into the API's app)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

PACKAGE = ROOT / "assistant"
# Stage -> rank; a module may import a module of its own stage or of a lower rank. llms and search share a rank
# and must not import each other.
STAGES = {"core": 0, "llms": 1, "search": 1, "ingest": 2, "answer": 3, "evals": 4, "app": 5, "api": 6, "ui": 7,
          "cli": 8}
CORE = {"assistant", "assistant.config", "assistant.types", "assistant.text", "assistant.offline",
        "assistant.resources"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def stage(module: str) -> str:
    if module in CORE:
        return "core"
    second = module.split(".")[1]
    assert second in STAGES, f"{module} is in no stage: add it to STAGES or CORE"
    return second


def imports(path: Path) -> set[str]:
    """The assistant modules a file imports anywhere in it (`from a.b import c` is a.b.c when that is a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "assistant"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "assistant":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
    return found


GRAPH = {m: imports(p) - {m} for m, p in MODULES.items()}


def test_no_upward_or_sideways_imports():
    bad = []
    for src, targets in GRAPH.items():
        for dst in targets:
            a, b = stage(src), stage(dst)
            if a != b and STAGES[b] >= STAGES[a]:
                bad.append(f"{src} ({a}) imports {dst} ({b})")
    assert not bad, "\n".join(sorted(bad))


def test_no_import_circles():
    """Depth-first search for a cycle in the module graph; the message shows the circle."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for n in sorted(GRAPH.get(m, ())):
            if n not in GRAPH:
                continue
            if state.get(n) == 1:
                return [*path[path.index(n):], n]
            if n not in state and (found := visit(n)):
                return found
        path.pop()
        state[m] = 2
        return None

    for module in sorted(GRAPH):
        if module not in state and (cycle := visit(module)):
            pytest.fail("import circle: " + " -> ".join(cycle))


def test_nothing_imports_by_name():
    users = [m for m, p in MODULES.items() if "import_module" in p.read_text() or "__import__(" in p.read_text()]
    assert not users


def test_only_the_ui_imports_gradio():
    users = []
    for m, p in MODULES.items():
        for node in ast.walk(ast.parse(p.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n.split(".")[0] in ("gradio", "gradio_client") for n in names):
                users.append(m)
    assert users and all(stage(m) == "ui" for m in users), users


@pytest.mark.parametrize("module", ["assistant.search.retriever", "assistant.ingest.index", "assistant.answer.pipeline",
                                    "assistant.evals.runner", "assistant.app", "assistant.api.http",
                                    "assistant.api.mcp_server", "assistant.ui.page",
                                    "assistant.cli.main"])
def test_a_stage_imports_without_the_stages_above_it(module):
    """In a fresh interpreter: importing a stage loads no module of a higher stage."""
    code = f"import sys, {module}; print('\\n'.join(m for m in sys.modules if m.startswith('assistant')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                         check=True).stdout.split()
    mine = STAGES[stage(module)]
    above = [m for m in out if m in MODULES and STAGES[stage(m)] > mine]
    assert not above, f"{module} pulled in {above}"
