"""Collection rules for the whole run: the tests and the package's doctests.

Some modules import an optional extra when they are imported: the integrations (on purpose, to
raise ``ImportError`` with the ``pip install`` hint) and the tests of them. In the ``noextras``
environment (``pytest -m "not extras"`` with only PyJWT installed) they are not collected at all,
since importing them would fail before the marker could deselect anything. In any other run a
missing extra stays an error: the full suite must not lose tests silently.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).parent

# Module (relative to this directory) -> the extras it imports at import time.
NEEDS_EXTRAS = {
    "atlassian_jwt/integrations/requests_auth.py": ("requests",),
    "atlassian_jwt/integrations/httpx_auth.py": ("httpx",),
    "tests/test_oauth2_async.py": ("httpx",),
    "tests/test_oauth2_auth.py": ("httpx", "requests"),
}


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if "not extras" not in (config.getoption("markexpr") or ""):
        return None
    try:
        relative = collection_path.resolve().relative_to(ROOT.resolve()).as_posix()
    except ValueError:
        return None
    extras = NEEDS_EXTRAS.get(relative, ())
    if any(importlib.util.find_spec(extra) is None for extra in extras):
        return True
    return None
