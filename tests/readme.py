"""The README's examples, for the tests that run them."""

from __future__ import annotations

import ast
import asyncio
import textwrap
from pathlib import Path
from typing import Any

README = Path(__file__).parent.parent / "README.rst"


def example(name: str) -> str:
    """Return the literal block that starts with the line ``# example: <name>``."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"    # example: {name}")
    block = []
    for line in lines[start + 1 :]:
        if line.strip().startswith("# example:") or (line and not line.startswith("    ")):
            break
        block.append(line)
    return textwrap.dedent("\n".join(block)).strip() + "\n"


def run_example(name: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Run an example in ``namespace`` (top-level ``await`` allowed) and return the namespace."""
    code = compile(
        example(name), f"README.rst:{name}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    )
    result = eval(code, namespace)
    if asyncio.iscoroutine(result):
        asyncio.run(result)
    return namespace
