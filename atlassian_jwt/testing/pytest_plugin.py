"""pytest fixtures for testing an Atlassian app: opt in from your ``conftest.py``::

    pytest_plugins = ["atlassian_jwt.testing.pytest_plugin"]

The plugin is never loaded by merely installing the library (it has no ``pytest11`` entry
point): a project that does not name it gets none of its fixtures.

Fixtures (each one new for every test, and its servers stopped after it):

``atlassian_product``
    a running :class:`~atlassian_jwt.testing.ProductStandIn` of the product named by
    ``atlassian_product_type`` (``"jira"``; parametrize that name to run a test against
    Confluence too).
``atlassian_tenant``
    the app's tenant on that product (``atlassian_product.tenant``): the ``installed``
    payload, with a new ``clientKey`` and ``sharedSecret``, whose ``baseUrl`` is the stand-in.
``atlassian_app_base_url``
    the app's base URL, ``https://app.example.com``: override this fixture with your
    descriptor's ``baseUrl``.
``atlassian_keys``
    a running :class:`~atlassian_jwt.testing.FakeAtlassianKeyServer` for
    ``atlassian_app_base_url``.
``forge_jwks``
    a running :class:`~atlassian_jwt.testing.FakeForgeJWKS` whose invocations come from
    ``atlassian_product``'s site.
``atlassian_clock``
    a started :class:`~atlassian_jwt.testing.FrozenClock`: the whole process's wall clock,
    frozen at the test's start and moved by ``atlassian_clock.advance(seconds)``, for signers
    and verifiers alike.

The RSA keys of the key server and the JWKS are made once per test session (that takes a
moment) and shared; everything else is made for each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from .clock import FrozenClock
from .forge_jwks import FakeForgeJWKS
from .key_server import FakeAtlassianKeyServer
from .product import ProductStandIn

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

__all__ = [
    "atlassian_app_base_url",
    "atlassian_clock",
    "atlassian_keys",
    "atlassian_product",
    "atlassian_product_type",
    "atlassian_tenant",
    "forge_jwks",
]


@pytest.fixture(scope="session")
def _atlassian_rsa_keys() -> dict[str, RSAPrivateKey]:
    """RSA keys made once for the session (on first use), by the fake that uses them."""
    return {}


def _session_key(keys: dict[str, RSAPrivateKey], name: str) -> RSAPrivateKey:
    from ._rsa import new_rsa_key

    if name not in keys:
        keys[name] = new_rsa_key()
    return keys[name]


@pytest.fixture
def atlassian_app_base_url() -> str:
    """The app's base URL (its descriptor's ``baseUrl``); override it in your conftest."""
    return "https://app.example.com"


@pytest.fixture
def atlassian_product_type() -> str:
    """The product ``atlassian_product`` plays: ``"jira"``, or ``"confluence"`` by
    ``@pytest.mark.parametrize("atlassian_product_type", ["jira", "confluence"])``."""
    return "jira"


@pytest.fixture
def atlassian_product(atlassian_product_type: str) -> Iterator[ProductStandIn]:
    """A running stand-in product with the app installed; stopped after the test."""
    with ProductStandIn(atlassian_product_type) as product:
        yield product


@pytest.fixture
def atlassian_tenant(atlassian_product: ProductStandIn) -> dict[str, Any]:
    """The app's tenant on ``atlassian_product``: store it as the app stores tenants."""
    return atlassian_product.tenant


@pytest.fixture
def atlassian_keys(
    atlassian_app_base_url: str, _atlassian_rsa_keys: dict[str, RSAPrivateKey]
) -> Iterator[FakeAtlassianKeyServer]:
    """A running fake of Atlassian's install-key server; stopped after the test."""
    key = _session_key(_atlassian_rsa_keys, "install")
    with FakeAtlassianKeyServer(atlassian_app_base_url, private_key=key) as keys:
        yield keys


@pytest.fixture
def forge_jwks(
    atlassian_product: ProductStandIn, _atlassian_rsa_keys: dict[str, RSAPrivateKey]
) -> Iterator[FakeForgeJWKS]:
    """A running fake of Forge's JWKS, invoking from ``atlassian_product``'s site."""
    key = _session_key(_atlassian_rsa_keys, "forge")
    with FakeForgeJWKS(product=atlassian_product, private_key=key) as forge:
        yield forge


@pytest.fixture
def atlassian_clock() -> Iterator[FrozenClock]:
    """The process's wall clock, frozen for the test; move it with ``advance(seconds)``."""
    with FrozenClock() as clock:
        yield clock
