"""httpx and httpx2, whichever are installed: every httpx feature is tested with each, and
every transport the library's own calls can use.

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


#: The transports the library's own calls can use, by name: the default and one per client.
TRANSPORT_NAMES = ["urllib", "requests", *(module.__name__ for module in LIBRARIES)]


def transport_named(name: str) -> Any:
    """The transport called ``name`` in :data:`TRANSPORT_NAMES`; ``None`` for the default."""
    # Imported here: modules using this are collected (and deselected) without the extras.
    from atlassian_jwt.integrations import httpx_auth, requests_auth

    if name == "urllib":
        return None
    if name == "requests":
        return requests_auth.RequestsTransport()
    return httpx_auth.HTTPXTransport(importlib.import_module(name).Client())
