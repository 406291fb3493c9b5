"""What the test modules share: the suite's tenant, Atlassian's vectors, the Authenticator
subclass an app writes, a clock moved by hand, a check that nothing secret leaks, and the
helpers that drive and read the testing kit's stand-in product.

Fixtures live in ``conftest.py``; everything a test module imports lives here, so that no test
imports a conftest (pytest loads those itself, and importing one runs it twice).
"""

from __future__ import annotations

import json
import secrets
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import atlassian_jwt
from atlassian_jwt.encode import DEFAULT_LIFETIME
from atlassian_jwt.oauth2 import AccessToken
from atlassian_jwt.testing import Reply

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
#: Where the authorization server takes the token exchange, and a path the product serves.
TOKEN_PATH = "/oauth2/token"
MYSELF = "/rest/api/3/myself"


def installed_payload() -> dict[str, Any]:
    """The suite's tenant: the payload of an ``installed`` callback as the product sends it, a
    new dict on each call."""
    return {
        "key": APP_KEY,
        "clientKey": CLIENT_KEY,
        "sharedSecret": SECRET,
        "baseUrl": "https://example.atlassian.net",
        "productType": "jira",
        "eventType": "installed",
    }


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


def assertion_of(request: ReceivedRequest) -> str:
    """The ``assertion`` of a token exchange as the authorization server received it."""
    form = dict(urllib.parse.parse_qsl(request.body.decode("ascii"), keep_blank_values=True))
    return form.get("assertion", "")


def answer_exchanges(
    site: ProductStandIn,
    reply: Callable[[str], Reply] | None = None,
    *,
    wait: float = 0.0,
) -> None:
    """From now on, each token exchange the site receives is checked and recorded as usual, and
    answered with ``reply(assertion)`` instead of a new access token, after ``wait`` seconds (cut
    short when the site stops).

    With ``reply=None`` only the wait changes: the site answers as usual, then records the
    exchange. A :class:`Reply` with a ``delay`` is recorded first and answered late: for a client
    that times out.
    """

    def answer(request: ReceivedRequest) -> Reply | None:
        if wait:
            site.wait(wait)
        return reply(assertion_of(request)) if reply is not None else None

    site.intercept("POST", TOKEN_PATH, answer)


def fresh_token(**fields: Any) -> Callable[[str], Reply]:
    """An exchange's answer: a new access token each time, with ``fields`` (an odd
    ``expires_in``, say) in the JSON; the site does not accept these tokens."""
    return lambda assertion: Reply.json(
        {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer", **fields}
    )


def acting_account(site: ProductStandIn, token: AccessToken) -> str | None:
    """The account the product acts for when called with ``token``; ``None`` if it refuses it.

    A token the site issued in an exchange is accepted as the user the assertion named.
    """
    request = urllib.request.Request(
        site.base_url + MYSELF, headers={"Authorization": token.authorization}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            account: str = json.load(response)["accountId"]
    except urllib.error.HTTPError as error:
        error.close()
        return None
    return account
