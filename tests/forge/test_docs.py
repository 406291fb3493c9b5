"""docs/forge.rst works as written: its doctests pass, its Python compiles, its example runs."""

from __future__ import annotations

import ast
import doctest
import json
import re
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.extras

PAGE = Path(__file__).parent.parent.parent / "docs" / "forge.rst"


def python_blocks() -> list[str]:
    """The ``.. code-block:: python`` blocks of the page, dedented."""
    blocks = []
    for match in re.finditer(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", PAGE.read_text()):
        blocks.append(textwrap.dedent(match.group(1)))
    return blocks


def test_the_pages_doctests_pass() -> None:
    result = doctest.testfile(str(PAGE), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 3 and result.failed == 0


def test_every_python_block_compiles() -> None:
    blocks = python_blocks()
    assert len(blocks) >= 10
    for block in blocks:
        compile(block, str(PAGE), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_every_json_block_is_json() -> None:
    blocks = re.findall(r"\.\. code-block:: json\n\n((?:    .*\n)+)", PAGE.read_text())
    assert blocks
    for block in blocks:
        assert isinstance(json.loads(block), dict)


def test_the_testing_example_runs_against_the_local_stand_ins() -> None:
    [example] = [block for block in python_blocks() if block.startswith("# example: testing")]
    namespace: dict[str, object] = {}
    exec(compile(example, f"{PAGE}:testing", "exec"), namespace)
    assert namespace["handled"] and namespace["auth"]
