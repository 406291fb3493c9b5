"""Stand-in products for the outbound integrations."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integrations.product import Product


@pytest.fixture
def jira() -> Iterator[Product]:
    with Product().running() as product:
        yield product


@pytest.fixture
def confluence() -> Iterator[Product]:
    with Product("/wiki").running() as product:
        yield product


@pytest.fixture
def elsewhere() -> Iterator[Product]:
    """Another origin ("localhost", not "127.0.0.1"): tokens must never reach it."""
    with Product(host="localhost").running() as product:
        yield product
