"""Stand-in products for the outbound integrations: the kit's ProductStandIn, checked after
each test for what an outbound token of this library must be."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from atlassian_jwt.testing import ProductStandIn
from tests.support import assert_outbound_tokens


@pytest.fixture
def jira() -> Iterator[ProductStandIn]:
    with ProductStandIn("jira") as product:
        yield product
    assert_outbound_tokens(product)


@pytest.fixture
def confluence() -> Iterator[ProductStandIn]:
    with ProductStandIn("confluence") as product:
        yield product
    assert_outbound_tokens(product)


@pytest.fixture
def elsewhere() -> Iterator[ProductStandIn]:
    """Another origin ("localhost", not "127.0.0.1"): tokens must never reach it."""
    with ProductStandIn(host="localhost") as product:
        yield product
    assert all(request.rejection == "no_credentials" for request in product.requests)
