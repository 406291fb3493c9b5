"""The suite's fixtures and hypothesis profiles; what test modules import is in support.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

from atlassian_jwt.oauth2 import TokenProvider
from atlassian_jwt.testing import ProductStandIn
from tests.support import (
    CLIENT_KEY,
    OAUTH_CLIENT_ID,
    SECRET,
    FakeClock,
    StoreAuthenticator,
    installed_payload,
)

# Deterministic and deadline-free on CI's shared machines; still many examples.
settings.register_profile("ci", derandomize=True, deadline=None, max_examples=200)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def tenant() -> dict[str, Any]:
    """The payload of an ``installed`` callback, as the product sends it."""
    return installed_payload()


@pytest.fixture
def authenticator(tenant: dict[str, Any]) -> StoreAuthenticator:
    return StoreAuthenticator({CLIENT_KEY: tenant})


# Acting as a user: the tenant, the authorization server and the provider, for every test of
# the token exchange (sync, async, and through the requests and httpx auth classes).


@pytest.fixture
def oauth_tenant(tenant: dict[str, Any]) -> dict[str, Any]:
    """The tenant with the ``oauthClientId`` that acting as a user needs; no server."""
    return {**tenant, "oauthClientId": OAUTH_CLIENT_ID}


@pytest.fixture
def fake_clock() -> FakeClock:
    """The time of the token providers and of the site's authorization server."""
    return FakeClock()


@pytest.fixture
def site(fake_clock: FakeClock) -> Iterator[ProductStandIn]:
    """Jira and Atlassian's authorization server on 127.0.0.1 (the kit's stand-in), the app
    installed with the suite's tenant; the server reads ``fake_clock``.

    Every exchange it received must have been a good one: the provider's assertions and forms
    are checked in every test, whatever the test answers them.
    """
    fields = {"clientKey": CLIENT_KEY, "sharedSecret": SECRET, "oauthClientId": OAUTH_CLIENT_ID}
    with ProductStandIn(tenant_fields=fields, clock=fake_clock) as product:
        yield product
    assert [exchange.problems for exchange in product.exchanges if exchange.problems] == []
    assert product.errors == []


@pytest.fixture
def provider(site: ProductStandIn, fake_clock: FakeClock) -> TokenProvider:
    """A token provider that exchanges with ``site``, on ``fake_clock``."""
    return TokenProvider(
        authorization_server=site.authorization_server, clock=fake_clock, timeout=5
    )
