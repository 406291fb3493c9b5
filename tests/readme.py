"""The examples of the README and of the documentation pages, for the tests that run them.

An example is a code block whose first line is ``# example: <name>``; each name is used once,
in README.rst or in one page under docs/ (tests/test_docs.py holds every Python block of those
to being an example some test runs, or a doctest).
"""

from __future__ import annotations

import ast
import asyncio
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent.parent
README = ROOT / "README.rst"


def pages() -> list[Path]:
    """The README and the documentation's pages, which hold the examples."""
    return [README, *sorted((ROOT / "docs").rglob("*.rst"))]


def _blocks(name: str) -> list[tuple[Path, str]]:
    marker = f"    # example: {name}"
    found = []
    for page in pages():
        lines = page.read_text(encoding="utf-8").splitlines()
        for start in (index for index, line in enumerate(lines) if line == marker):
            block = []
            for line in lines[start + 1 :]:
                if line.strip().startswith("# example:") or (line and not line.startswith("    ")):
                    break
                block.append(line)
            found.append((page, textwrap.dedent("\n".join(block)).strip() + "\n"))
    return found


def example_page(name: str) -> Path:
    """The page that holds the example ``name``."""
    return _located(name)[0]


def example(name: str) -> str:
    """Return the code block that starts with the line ``# example: <name>``."""
    return _located(name)[1]


def _located(name: str) -> tuple[Path, str]:
    found = _blocks(name)
    if len(found) != 1:
        raise LookupError(f"example {name!r} is in {len(found)} blocks, not one")
    return found[0]


def run_example(name: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Run an example in ``namespace`` (top-level ``await`` allowed) and return the namespace."""
    page, source = _located(name)
    code = compile(
        source,
        f"{page.relative_to(ROOT)}:{name}",
        "exec",
        flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
    )
    result = eval(code, namespace)
    if asyncio.iscoroutine(result):
        asyncio.run(result)
    return namespace
