"""httpx and httpx2, whichever are installed: every httpx feature is tested with each.

The ``httpx2`` tox environment has httpx2 alone, which shows that nothing leans on httpx.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import pytest


def _installed() -> list[ModuleType]:
    found = []
    for name in ("httpx", "httpx2"):
        try:
            found.append(importlib.import_module(name))
        except ImportError:
            continue
    return found


#: The httpx-family modules installed (at least one: the tests that use this need one).
LIBRARIES = _installed()

#: ``@each_library`` runs a test once per library, as its ``lib`` argument.
each_library = pytest.mark.parametrize(
    "lib", LIBRARIES, ids=[module.__name__ for module in LIBRARIES]
)


def library_fixture(request: pytest.FixtureRequest) -> Any:
    """The body of a ``lib`` fixture parametrized with ``params=LIBRARIES``."""
    return request.param
