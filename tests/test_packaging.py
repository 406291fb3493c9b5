"""The README's first two commands, as a newcomer and CI run them."""

from __future__ import annotations

import shlex
from pathlib import Path

ROOT = Path(__file__).parent.parent


def _readme_commands() -> list[str]:
    """The first two literal blocks of the README, each one command line."""
    text = (ROOT / "README.rst").read_text(encoding="utf-8")
    blocks = [block for block in text.split("::\n\n")[1:3]]
    return [block.split("\n\n", 1)[0].strip() for block in blocks]


def test_readme_starts_with_two_commands_that_make_their_own_virtual_environment() -> None:
    # PEP 668: a system Python (Debian's, Ubuntu's) refuses pip install outside a venv.
    first, second = _readme_commands()
    for command in (first, second):
        steps = command.split(" && ")
        assert steps[0] == "python3 -m venv .venv"
        assert all(shlex.split(step)[0].startswith(".venv/bin/") for step in steps[1:])
    assert shlex.split(first.split(" && ")[-1])[:2] == [".venv/bin/atlassian-jwt", "qsh"]
    assert second.endswith(" && .venv/bin/python -m pytest")


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    second = _readme_commands()[1]
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert second in ci_lines
