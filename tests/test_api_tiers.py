"""The package's API tiers, read from its source: what each module exports, and who may import it.

Three tiers, each visible in a name:

* **public**: a name in the ``__all__`` of a module whose dotted path has no ``_`` part
  (``atlassian_jwt.tokens.parse_token``); every such module declares its ``__all__``;
* **shared private**: any name of a private module (``atlassian_jwt._http.default_transport``,
  ``atlassian_jwt.cli._inputs.read_token``): for the package's own modules, never for users;
* **module private**: an ``_underscored`` name, used only in the module that defines it.

So no module imports another module's ``_name``, and a name imported from a public module is
one that module exports. The modules are parsed, not imported: the rules hold for the modules
of every extra, installed or not.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

import atlassian_jwt

# Where the package is installed (site-packages, in CI's wheel run), not the source tree.
PACKAGE = Path(atlassian_jwt.__file__).parent


class Module(NamedTuple):
    name: str  # dotted: atlassian_jwt.cli.verify
    path: Path
    tree: ast.Module

    @property
    def package(self) -> str:
        """The package relative imports start from."""
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]

    @property
    def private(self) -> bool:
        return any(_is_private(part) for part in self.name.split("."))


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _modules() -> dict[str, Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = Module(name, path, ast.parse(path.read_text(encoding="utf-8")))
    return found


MODULES = _modules()


def _declared_all(module: Module) -> list[str] | None:
    """The module's ``__all__``, a literal list or tuple of strings; ``None`` if it has none."""
    for node in module.tree.body:
        value: ast.expr | None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(target, ast.Name) and target.id == "__all__" for target in targets):
            assert isinstance(value, (ast.List, ast.Tuple)), f"{module.name}: __all__"
            names = [element.value for element in value.elts if isinstance(element, ast.Constant)]
            assert len(names) == len(value.elts), f"{module.name}: __all__ of literals"
            return [str(name) for name in names]
    return None


def _top_level_names(module: Module) -> set[str]:
    """Every name the module binds at its top level (in ``if``/``try`` blocks too), and its
    submodules."""
    names: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    names.add((alias.asname or alias.name).split(".")[0])
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    names.update(sub.id for sub in ast.walk(target) if isinstance(sub, ast.Name))
            elif isinstance(node, ast.If):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                visit(node.orelse)
                visit(node.finalbody)
                for handler in node.handlers:
                    visit(handler.body)

    visit(module.tree.body)
    prefix = module.name + "."
    names.update(
        other[len(prefix) :]
        for other in MODULES
        if other.startswith(prefix) and "." not in other[len(prefix) :]
    )
    return names


def _sort_key(name: str) -> tuple[int, list[object]]:
    """isort's order, as ruff's RUF022 applies it: SCREAMING_CASE constants, then CamelCase
    classes, then the rest; each group in natural order (``a2`` before ``a10``)."""
    if name.isupper() and len(name) > 1:
        group = 0
    elif name[:1].isupper():
        group = 1
    else:
        group = 2
    natural = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
    return group, natural


class Import(NamedTuple):
    module: Module  # the importing module
    line: int
    target: str  # the module imported from
    name: str  # the name imported from it


def _imports(module: Module) -> Iterator[Import]:
    """Every ``from ... import name`` of a package module, relative ones resolved."""
    for node in ast.walk(module.tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = module.package.split(".")
            base = base[: len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        if target == "atlassian_jwt" or target.startswith("atlassian_jwt."):
            for alias in node.names:
                yield Import(module, node.lineno, target, alias.name)


def _private_attributes(module: Module) -> Iterator[str]:
    """``x._name`` where ``x`` is a package module bound by an import: a reach past the
    import rules."""
    bound: dict[str, str] = {}
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("atlassian_jwt"):
                    bound[alias.asname or alias.name.split(".")[0]] = alias.name
        elif isinstance(node, ast.ImportFrom):
            for found in _imports(module):
                if found.line == node.lineno and f"{found.target}.{found.name}" in MODULES:
                    bound[found.name] = f"{found.target}.{found.name}"
    for node in ast.walk(module.tree):
        if (
            isinstance(node, ast.Attribute)
            and _is_private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in bound
        ):
            yield f"{module.name}:{node.lineno}: {bound[node.value.id]}.{node.attr}"


PUBLIC = sorted(name for name, module in MODULES.items() if not module.private)
WITH_ALL = sorted(name for name, module in MODULES.items() if _declared_all(module) is not None)


def test_the_package_is_read_whole() -> None:
    # The rules below would pass vacuously on an empty or wrongly located tree.
    assert {"atlassian_jwt", "atlassian_jwt.tokens", "atlassian_jwt._http"} <= set(MODULES)
    assert "atlassian_jwt.cli.verify" in PUBLIC and "atlassian_jwt.cli._inputs" not in PUBLIC
    assert len(WITH_ALL) >= 30


@pytest.mark.parametrize("name", [name for name in PUBLIC if name != "atlassian_jwt.__main__"])
def test_every_public_module_declares_its_exports(name: str) -> None:
    assert _declared_all(MODULES[name]) is not None, f"{name} has no __all__"


@pytest.mark.parametrize("name", WITH_ALL)
def test_every_all_resolves_once_each_and_is_sorted(name: str) -> None:
    module = MODULES[name]
    exported = _declared_all(module) or []
    missing = sorted(set(exported) - _top_level_names(module))
    assert missing == [], f"{name}.__all__ names what the module does not define"
    assert len(set(exported)) == len(exported), f"{name}.__all__ repeats a name"
    assert exported == sorted(exported, key=_sort_key), f"{name}.__all__ is not sorted"
    assert not any(_is_private(entry) for entry in exported), f"{name} exports a private name"


def test_no_module_imports_another_modules_private_name() -> None:
    reaches = [
        f"{found.module.name}:{found.line}: from {found.target} import {found.name}"
        for module in MODULES.values()
        for found in _imports(module)
        if _is_private(found.name) and f"{found.target}.{found.name}" not in MODULES
    ]
    reaches += [reach for module in MODULES.values() for reach in _private_attributes(module)]
    assert reaches == []


def test_a_name_from_a_public_module_is_one_it_exports() -> None:
    # A private module's names are shared by design; a public module shares only its exports.
    unexported = []
    for module in MODULES.values():
        for found in _imports(module):
            target = MODULES.get(found.target)
            if target is None or target.private or f"{found.target}.{found.name}" in MODULES:
                continue
            if found.name not in (_declared_all(target) or []):
                unexported.append(f"{module.name}:{found.line}: {found.target}.{found.name}")
    assert unexported == []


@pytest.mark.parametrize(
    ("names", "ordered"),
    [
        (["b", "A", "C_D", "a10", "a2"], ["C_D", "A", "a2", "a10", "b"]),
        (
            ["__version__", "encode_token", "Authenticator"],
            ["Authenticator", "__version__", "encode_token"],
        ),
    ],
)
def test_the_sort_order_is_isorts(names: list[str], ordered: list[str]) -> None:
    assert sorted(names, key=_sort_key) == ordered


def test_the_rules_catch_what_they_forbid(tmp_path: Path) -> None:
    # The checks, run on a module written to break each rule, find each breach.
    source = (
        "from ._http import default_transport\n"  # a private module's name: allowed
        "from .tokens import _segments\n"  # another module's private name
        "from . import keys\n"
        "keys._fetch_lock\n"  # the same, through the module
        "from .url_utils import no_such_export\n"  # a public module's unexported name
        "__all__ = ['b', 'a', 'missing']\n"
    )
    bad = Module("atlassian_jwt.bad", PACKAGE / "bad.py", ast.parse(source))
    names = [found.name for found in _imports(bad) if _is_private(found.name)]
    assert names == ["_segments"]
    assert list(_private_attributes(bad)) == ["atlassian_jwt.bad:4: atlassian_jwt.keys._fetch_lock"]
    url_utils = _declared_all(MODULES["atlassian_jwt.url_utils"]) or []
    assert "no_such_export" not in url_utils and "hash_url" in url_utils
    exported = _declared_all(bad) or []
    assert sorted(exported, key=_sort_key) != exported
    assert "missing" not in _top_level_names(bad)
