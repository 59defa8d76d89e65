"""The README documents every setting and every command exactly as the code defines them."""

from __future__ import annotations

from assistant.cli.main import build_parser
from assistant.config import settings_table
from tests.support import ROOT

README = (ROOT / "README.md").read_text()


def test_readme_starts_with_the_two_commands():
    first_block = README.split("```bash", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in first_block.strip().splitlines()] == [["make", "run"], ["make", "test"]]


def test_settings_table_is_current():
    block = README.split("<!-- settings:start -->\n", 1)[1].split("\n<!-- settings:end -->", 1)[0]
    assert block == settings_table(), "run: python -m assistant.config, and paste it into README.md"


def test_every_command_and_flag_is_documented():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, sub in commands.items():
        assert f"paper-assistant {name}" in README, name
        for action in sub._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag not in ("--help", "--config"):
                    assert flag in README, f"{name} {flag}"
