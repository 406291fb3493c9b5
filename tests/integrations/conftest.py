"""Stand-in products for the outbound integrations: the kit's ProductStandIn, checked after
each test for what an outbound token of this library must be."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from atlassian_jwt.testing import ProductStandIn
from tests.forge.conftest import forge, forge_rsa_key, product, verifier  # noqa: F401
from tests.support import assert_outbound_tokens

# forge, forge_rsa_key, product and verifier: the Connect-on-Forge site and Forge's key set of
# tests/forge, for the Forge integrations.


@pytest.fixture
def jira() -> Iterator[ProductStandIn]:
    with ProductStandIn("jira") as site:
        yield site
    assert_outbound_tokens(site)


@pytest.fixture
def confluence() -> Iterator[ProductStandIn]:
    with ProductStandIn("confluence") as site:
        yield site
    assert_outbound_tokens(site)


@pytest.fixture
def elsewhere() -> Iterator[ProductStandIn]:
    """Another origin ("localhost", not "127.0.0.1"): tokens must never reach it."""
    with ProductStandIn(host="localhost") as site:
        yield site
    assert all(request.rejection == "no_credentials" for request in site.requests)
