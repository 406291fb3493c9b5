"""Every example in the README and the documentation runs: as a doctest, or in a test.

A page's Python is either ``>>>`` lines (pytest runs each page's doctests: docs/ is in the
``testpaths``) or a ``.. code-block:: python`` whose first line names it
(``# example: <name>``), which a test runs through :mod:`tests.readme`. Nothing else: no
Python in a plain literal block, no block that no test runs.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
from pathlib import Path

import pytest

from tests.readme import README, ROOT, example, pages

CODE_BLOCK = re.compile(r"^(\s*)\.\. (?:code-block|code|sourcecode):: *(\S*)\s*$")
PYTHON_LINE = re.compile(r"^(import |from \S+ import |def |class |async def |@\w|\w+ = )")


def blocks(page: Path) -> list[tuple[str, list[str]]]:
    """The page's literal blocks: ``(language, content lines)``, ``"::"`` for a plain one."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found = []
    for index, line in enumerate(lines):
        directive = CODE_BLOCK.match(line)
        if directive:
            language, indent = directive.group(2), len(directive.group(1))
        elif line.rstrip().endswith("::") and not line.lstrip().startswith(".. "):
            language, indent = "::", len(line) - len(line.lstrip())
        else:
            continue
        content = []
        for following in lines[index + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            content.append(following)
        while content and not content[0].strip():
            content.pop(0)
        found.append((language, [text.strip() for text in content]))
    return found


@functools.cache
def examples_the_tests_run() -> frozenset[str]:
    """Every example name a test passes to ``example`` or ``run_example`` as a literal."""
    names = set()
    for path in (ROOT / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("example", "run_example", "example_page")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                names.add(node.args[0].value)
    return frozenset(names)


@pytest.mark.parametrize("page", pages(), ids=lambda page: str(page.relative_to(ROOT)))
def test_every_python_block_is_an_example_a_test_runs(page: Path) -> None:
    run = examples_the_tests_run()
    for language, content in blocks(page):
        if language in ("python", "py", "python3"):
            assert content and content[0].startswith("# example: "), (page, content[:2])
            name = content[0].removeprefix("# example: ")
            assert name in run, f"no test runs the example {name!r} of {page.name}"
            assert example(name)  # and it is this page's, and only this page's


@pytest.mark.parametrize("page", pages(), ids=lambda page: str(page.relative_to(ROOT)))
def test_no_plain_literal_block_holds_python(page: Path) -> None:
    # Python shown in a plain "::" block would run nowhere: it is a code-block or a doctest.
    for language, content in blocks(page):
        if language in ("::", "text", "console", ""):
            assert not any(PYTHON_LINE.match(line) for line in content), (page, content[:3])


def test_every_example_a_test_names_is_on_a_page() -> None:
    for name in examples_the_tests_run():
        assert example(name)


def test_the_docs_doctests_run_with_the_suite(pytestconfig: pytest.Config) -> None:
    assert {"README.rst", "docs"} <= set(pytestconfig.getini("testpaths"))
    assert "*.rst" in pytestconfig.getoption("doctestglob")
    assert any(">>> " in page.read_text(encoding="utf-8") for page in pages()[1:])


def test_the_readme_is_a_package_page() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= 12 * 1024
    assert "https://atlassian-jwt.readthedocs.io/" in text
    # The installed distribution's metadata (of the wheel, in CI's wheel run) names it too.
    urls = importlib.metadata.metadata("atlassian-jwt").get_all("Project-URL") or []
    assert "Documentation, https://atlassian-jwt.readthedocs.io/" in urls
