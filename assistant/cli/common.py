"""What every command shares: settings from flags, one-line errors, terminal-safe printing, JSON output.

No command logic here; each command group has its own module.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from assistant.config import ConfigError, Filters, Settings, load_settings

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 (but tab, newline) and C1 controls


class UsageError(ValueError):
    """A command was called with arguments that cannot work."""


def terminal_safe(text: str) -> str:
    """Corpus and model text without control characters: printed raw, an escape sequence in a title could clear,
    retitle or rewrite the user's terminal. JSON output needs no such care (json escapes them)."""
    return _CONTROL.sub("", text)


# flag attribute -> (settings group, key): every flag that overrides a setting, in one place.
_FLAGS = {"store": ("store", "path"), "collection": ("store", "collection"), "k": ("retrieval", "k"),
          "model": ("llm", "backend"), "host": ("ui", "host"), "port": ("ui", "port"),
          "insecure_no_auth": ("ui", "insecure_no_auth")}


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr, (group, key) in _FLAGS.items():
        value = getattr(args, attr, None)
        if value is not None and value is not False:
            out.setdefault(group, {})[key] = str(value) if isinstance(value, Path) else value
    return out


def settings_from(args: argparse.Namespace, **groups: dict[str, Any]) -> Settings:
    """The settings file and env vars, then the command's flags, then `groups` (a command's own fixed choices)."""
    values = overrides(args)
    for group, keys in groups.items():
        values.setdefault(group, {}).update(keys)
    return load_settings(args.config, values)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def add_common(p: argparse.ArgumentParser, *, store: bool = True, json_flag: bool = True) -> None:
    p.add_argument("--config", type=Path, help="settings TOML file (default ./paper-assistant.toml)")
    if store:
        p.add_argument("--store", type=Path, help="Chroma store directory (default data/index)")
        p.add_argument("--collection", help="named collection in the store (default store.collection, "
                       "`default`; see `paper-assistant collections`)")
    if json_flag:
        p.add_argument("--json", action="store_true", help="print machine-readable JSON")


def add_filter_flags(p: argparse.ArgumentParser) -> None:
    """--since/--until/--author/--venue: the same filters a question can state in words ("since 2024")."""
    p.add_argument("--since", type=int, metavar="YEAR", help="only papers from YEAR on")
    p.add_argument("--until", type=int, metavar="YEAR", help="only papers up to YEAR")
    p.add_argument("--author", help="only papers with an author of this name (or part of it)")
    p.add_argument("--venue", help="only papers from this venue (or part of its name)")


def filters_from(args: argparse.Namespace) -> Filters:
    try:
        return Filters(year_from=args.since, year_to=args.until, author=args.author, venue=args.venue)
    except ValidationError as e:
        raise ConfigError("filters: " + "; ".join(f"{'.'.join(map(str, x['loc'])) or 'years'}: {x['msg']}"
                                                  for x in e.errors())) from e
