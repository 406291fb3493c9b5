"""Atlassian's Node library, for the tests that check this one against it.

It lives where the benchmark keeps it (``benchmarks/node_package.py``, its one home), installed
by ``.ci/run`` or ``python benchmarks/node_package.py``; no test installs it (tests reach no
network). Without it such a test is not run, and says so; under ``CI``, where it must be
there, it fails.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import node_package  # noqa: E402

__all__ = ["NODE_VERSION", "node_modules"]

NODE_VERSION = node_package.NODE_VERSION


def node_modules() -> Path:
    """The installed library's ``node_modules`` folder, or the test stops: skipped, or failed
    under ``CI``."""
    folder = node_package.node_modules()
    if folder is None:
        if os.environ.get("CI"):
            pytest.fail(f"{node_package.NOT_INSTALLED}; .ci/run installs it, and CI must have it")
        pytest.skip(node_package.NOT_INSTALLED)
    return folder
