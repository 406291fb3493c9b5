"""What the test modules share: the suite's tenant, Atlassian's vectors, an Authenticator
subclass, a clock to move by hand, a check that nothing secret leaks and one of the outbound
tokens a stand-in product accepted.

Fixtures live in ``conftest.py``; everything a test module imports lives here, so that no test
imports a conftest (pytest loads those itself, and importing one runs it twice).
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import atlassian_jwt
from atlassian_jwt.encode import DEFAULT_LIFETIME

if TYPE_CHECKING:
    from atlassian_jwt.testing import ProductRequest, ProductStandIn, ReceivedRequest

HERE = Path(__file__).parent

# At least 64 bytes: PyJWT warns about HMAC keys shorter than the hash (HS512 included)
SECRET = "a-shared-secret-long-enough-for-every-hmac-algorithm-hs256-to-hs512"
CLIENT_KEY = "11111111-2222-3333-4444-555555555555"
APP_KEY = "com.example.my-app"

#: The user an app acts as, and the OAuth client id of the app's tenant.
ACCOUNT = "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"
OAUTH_CLIENT_ID = "oXdQeM4uyhE1y5kMM5bFoLUwbArxwxJQ"


def load_vectors(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HERE / name).read_text(encoding="utf-8"))
    return data


OFFICIAL = load_vectors("official_interop_vectors.json")
EXTRA = load_vectors("extra_vectors.json")


class StoreAuthenticator(atlassian_jwt.Authenticator):
    """The subclass an app writes: secrets looked up in a dict of tenants."""

    def __init__(self, tenants: Mapping[str, Mapping[str, str]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tenants = tenants

    def get_shared_secret(self, client_key: str) -> str | None:
        tenant = self.tenants.get(client_key)
        return tenant["sharedSecret"] if tenant else None


class FakeClock:
    """A clock moved by the test instead of sleeping: give it as ``clock=`` to a
    :class:`~atlassian_jwt.oauth2.TokenProvider` and to the
    :class:`~atlassian_jwt.testing.ProductStandIn` it talks to."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def assert_nothing_leaks(error: BaseException, *hidden: str) -> None:
    """Assert that no text in ``hidden`` shows in the error's message, repr or traceback."""
    shown = "".join(
        [
            str(error),
            repr(error),
            *traceback.format_exception(type(error), error, error.__traceback__),
        ]
    )
    for text in hidden:
        assert text not in shown


def assert_outbound_tokens(product: ProductStandIn) -> None:
    """Assert that every Connect token the stand-in accepted is one this library's signers
    make for the tenant: ``aud`` its ``clientKey``, valid no longer than ``encode_token``'s
    default, and that the stand-in itself raised nothing.

    The stand-in checks what the product checks; this adds what the library promises.
    """
    assert product.errors == []
    client_key = product.tenant["clientKey"]
    for request in product.requests:
        if request.auth == "jwt":
            claims = request.claims
            assert claims["aud"] == client_key, request
            assert 0 < claims["exp"] - claims["iat"] <= DEFAULT_LIFETIME, request


def authorization(call: ProductRequest | ReceivedRequest) -> str | None:
    """The ``Authorization`` header a stand-in or a fake server received with ``call``."""
    return call.headers.get("Authorization")


def accepted_claims(call: ProductRequest) -> dict[str, Any]:
    """The claims of the Connect token (``Authorization: JWT ...``) that the stand-in product
    verified and accepted for ``call``."""
    assert (authorization(call) or "").startswith("JWT ")
    assert call.auth == "jwt", call.detail
    return call.claims
