"""Stand-in products for the outbound integrations."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.forge.conftest import forge, forge_rsa_key, product, verifier  # noqa: F401
from tests.integrations.product import Product

# forge, forge_rsa_key, product and verifier: the Connect-on-Forge site and Forge's key set of
# tests/forge, for the Forge integrations.


@pytest.fixture
def jira() -> Iterator[Product]:
    with Product().running() as site:
        yield site


@pytest.fixture
def confluence() -> Iterator[Product]:
    with Product("/wiki").running() as site:
        yield site


@pytest.fixture
def elsewhere() -> Iterator[Product]:
    """Another origin ("localhost", not "127.0.0.1"): tokens must never reach it."""
    with Product(host="localhost").running() as site:
        yield site
