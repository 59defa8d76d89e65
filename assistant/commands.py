"""Subcommands beyond the foundation's (ask, models, serve, eval): each registers its parser here.

Kept apart from cli.py so the commands of each feature live next to the feature's own module.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

AddCommon = Callable[..., None]


def register(sub: argparse._SubParsersAction, add_common: AddCommon) -> None:
    """Add the feature subcommands. Each feature module exposes `add_command(sub, add_common)`."""
    import importlib

    for module in ("assistant.answer_cli", "assistant.serve_cli", "assistant.eval_cli"):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
            continue
        mod.add_command(sub, add_common)
