"""A Connect-on-Forge site and Forge's key set, both on 127.0.0.1, for the Forge tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from atlassian_jwt import ForgeInvocationVerifier
from atlassian_jwt.testing import FakeForgeJWKS, ProductStandIn, new_rsa_key
from tests.support import APP_KEY

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

ACCOUNT = "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"


def installation_ari() -> str:
    return f"ari:cloud:ecosystem::installation/{uuid.uuid4()}"


@pytest.fixture(scope="session")
def forge_rsa_key() -> RSAPrivateKey:
    return new_rsa_key()


@pytest.fixture
def product() -> Iterator[ProductStandIn]:
    """A Jira site with the Connect app installed under a Forge manifest (an installationId)."""
    with ProductStandIn(app_key=APP_KEY, installation_id=installation_ari()) as site:
        yield site


@pytest.fixture
def forge(product: ProductStandIn, forge_rsa_key: RSAPrivateKey) -> Iterator[FakeForgeJWKS]:
    """Forge's key set, invoking the app from ``product``'s site."""
    with FakeForgeJWKS(product=product, private_key=forge_rsa_key) as fake:
        yield fake


@pytest.fixture
def verifier(forge: FakeForgeJWKS) -> ForgeInvocationVerifier:
    return ForgeInvocationVerifier(forge.app_id, jwks_url=forge.jwks_url, timeout=5)
