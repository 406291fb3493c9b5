"""Time claims are numbers: ``iat``, ``nbf`` and ``exp`` must be finite JSON numbers everywhere.

RFC 7519 §2 makes a NumericDate a JSON number. PyJWT reads time claims with ``int()``, so on
its own it accepts ``"1700000000"`` and ``true``; every verifier here rejects them (and NaN,
the infinities and integers beyond a float) as :class:`~atlassian_jwt.InvalidClaimError` naming
the claim: Connect requests (HS256), signed installs (RS256), Forge invocation tokens, and the
lifecycle handling on top, which must answer a rejection rather than fail with HTTP 500.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import jwt
import pytest

import atlassian_jwt
from atlassian_jwt import exceptions as exc
from atlassian_jwt.install import parse_lifecycle_body
from atlassian_jwt.tenants import MemoryTenantStore
from atlassian_jwt.testing import FakeForgeJWKS, new_rsa_key, public_pem
from atlassian_jwt.url_utils import hash_url
from tests.support import CLIENT_KEY, SECRET, StoreAuthenticator

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

NOW = int(time.time())
APP_BASE = "https://apps.example.com/my-app"
KID = "3c8f1e2a-7b6d-4e5f-8a9b-0c1d2e3f4a5b"

# Each is a valid time as PyJWT's int() reads it, but no NumericDate.
NOT_NUMBERS = [
    pytest.param(str, id="numeric-string"),
    pytest.param(lambda value: True, id="true"),
    pytest.param(lambda value: False, id="false"),
    pytest.param(lambda value: math.nan, id="NaN"),
    pytest.param(lambda value: math.inf, id="Infinity"),
    pytest.param(lambda value: -(10**400), id="integer-beyond-a-float"),
]
# Lifetimes of an hour: a loaded machine may reach a test minutes after this module is imported.
TIMES = {"iat": NOW - 10, "nbf": NOW - 10, "exp": NOW + 3600}


def connect_token(claims: dict[str, Any]) -> str:
    payload = {"iss": CLIENT_KEY, **TIMES, "qsh": hash_url("GET", "/page"), **claims}
    return jwt.encode(payload, SECRET, algorithm="HS256")


@pytest.mark.parametrize("name", ["iat", "nbf", "exp"])
@pytest.mark.parametrize("spoil", NOT_NUMBERS)
def test_regression_connect_time_claim_that_is_no_number_is_rejected(
    name: str, spoil: Any, authenticator: StoreAuthenticator
) -> None:
    token = connect_token({name: spoil(TIMES[name])})
    with pytest.raises(atlassian_jwt.InvalidClaimError) as caught:
        authenticator.authenticate("GET", "/page", {"Authorization": f"JWT {token}"})
    assert (caught.value.claim, caught.value.code) == (name, "invalid_claim")
    # Found after the signature: the token is genuine, its claims are not.
    assert caught.value.signature_verified is True


def test_a_missing_required_claim_is_still_reported_first(
    authenticator: StoreAuthenticator,
) -> None:
    token = jwt.encode(
        {"iss": CLIENT_KEY, "iat": "1700000000", "exp": NOW + 60}, SECRET, algorithm="HS256"
    )
    with pytest.raises(atlassian_jwt.MissingClaimError) as caught:
        authenticator.authenticate("GET", "/page", {"Authorization": f"JWT {token}"})
    assert caught.value.claim == "qsh"


@pytest.mark.parametrize("value", [NOW + 3600, float(NOW + 3600), NOW + 3600.5, 10**30])
def test_integers_and_floats_are_numeric_dates(
    value: float, authenticator: StoreAuthenticator
) -> None:
    token = connect_token({"exp": value})
    client_key, claims = authenticator.authenticate(
        "GET", "/page", {"Authorization": f"JWT {token}"}
    )
    assert (client_key, claims["exp"]) == (CLIENT_KEY, value)


def test_claims_pyjwt_reports_without_a_name_now_name_it(
    authenticator: StoreAuthenticator,
) -> None:
    token = connect_token({"sub": 42})
    with pytest.raises(atlassian_jwt.InvalidClaimError) as caught:
        authenticator.authenticate("GET", "/page", {"Authorization": f"JWT {token}"})
    assert caught.value.claim == "sub"


# Lifecycle bodies: JSON as RFC 8259 has it, so that every store can write them back.


@pytest.mark.parametrize(
    "body",
    [
        b'{"clientKey": "c", "sharedSecret": "s", "installedAt": NaN}',
        b'{"clientKey": "c", "sharedSecret": "s", "n": -Infinity}',
        b'{"clientKey": "c", "sharedSecret": "s", "n": 1e999}',
        {"clientKey": "c", "sharedSecret": "s", "n": math.nan},
        {"clientKey": "c", "sharedSecret": "s", "n": {1, 2}},
    ],
    ids=["NaN", "-Infinity", "1e999", "parsed-NaN", "parsed-set"],
)
def test_regression_lifecycle_body_with_nan_is_rejected(body: Any) -> None:
    with pytest.raises(atlassian_jwt.MalformedRequestError):
        parse_lifecycle_body(body)


def test_lifecycle_bodies_with_ordinary_numbers_pass() -> None:
    body = b'{"clientKey": "c", "n": 1.5e300, "m": -2, "big": 123456789012345678901234567890}'
    assert parse_lifecycle_body(body)["big"] == 123456789012345678901234567890


# Signed installs (RS256), and the lifecycle handling on top of them.


@pytest.fixture(scope="module")
def atlassian_key() -> rsa.RSAPrivateKey:
    return new_rsa_key()


def install_headers(key: Any, **claims: Any) -> dict[str, str]:
    payload = {
        "iss": CLIENT_KEY,
        "aud": APP_BASE,
        **TIMES,
        "qsh": hash_url("POST", "/installed"),
        **claims,
    }
    return {"Authorization": f"JWT {jwt.encode(payload, key, 'RS256', headers={'kid': KID})}"}


def install_body(**changes: Any) -> bytes:
    body = {"clientKey": CLIENT_KEY, "sharedSecret": SECRET, "eventType": "installed", **changes}
    return json.dumps(body).encode()


@pytest.fixture
def lifecycle(atlassian_key: rsa.RSAPrivateKey) -> Any:
    from atlassian_jwt.lifecycle import LifecycleHandler

    installs = atlassian_jwt.InstallAuthenticator(
        APP_BASE,
        key_provider=atlassian_jwt.StaticKeyProvider({KID: public_pem(atlassian_key)}),
    )
    return LifecycleHandler(MemoryTenantStore(), installs)


@pytest.mark.extras
@pytest.mark.parametrize("spoil", NOT_NUMBERS)
def test_regression_verified_install_with_an_iat_string_is_rejected_not_stored(
    spoil: Any, lifecycle: Any, atlassian_key: Any
) -> None:
    headers = install_headers(atlassian_key, iat=spoil(TIMES["iat"]))
    url = f"{APP_BASE}/installed"
    with pytest.raises(atlassian_jwt.InvalidClaimError) as caught:
        lifecycle.installed("POST", url, headers, install_body())
    assert caught.value.claim == "iat"
    assert lifecycle.store.get(CLIENT_KEY) is None


@pytest.mark.extras
def test_regression_lifecycle_install_whose_body_holds_nan_is_rejected_not_stored(
    lifecycle: Any, atlassian_key: Any
) -> None:
    url = f"{APP_BASE}/installed"
    body = install_body().replace(b'"eventType"', b'"installedAt": NaN, "eventType"')
    with pytest.raises(atlassian_jwt.MalformedRequestError):
        lifecycle.installed("POST", url, install_headers(atlassian_key), body)
    assert lifecycle.store.get(CLIENT_KEY) is None
    # The same install without the NaN goes through: only the body was at fault.
    lifecycle.installed("POST", url, install_headers(atlassian_key), install_body())
    assert lifecycle.store.get(CLIENT_KEY)["sharedSecret"] == SECRET


# Forge invocation tokens.


@pytest.fixture
def forge(atlassian_key: Any) -> Iterator[atlassian_jwt.ForgeInvocationVerifier]:
    with FakeForgeJWKS("my-app", private_key=atlassian_key, kid=KID) as jwks:
        yield atlassian_jwt.ForgeInvocationVerifier("my-app", jwks_url=jwks.jwks_url, timeout=2)


@pytest.mark.extras
@pytest.mark.parametrize("name", ["iat", "nbf", "exp"])
@pytest.mark.parametrize("spoil", NOT_NUMBERS)
def test_regression_forge_time_claim_that_is_no_number_is_rejected(
    name: str, spoil: Any, forge: atlassian_jwt.ForgeInvocationVerifier, atlassian_key: Any
) -> None:
    claims = {
        "iss": "forge/invocation-token",
        "aud": forge.app_ari,
        **TIMES,
        name: spoil(TIMES[name]),
    }
    token = jwt.encode(claims, atlassian_key, "RS256", headers={"kid": KID})
    with pytest.raises(exc.InvalidClaimError) as caught:
        forge.verify(token)
    assert caught.value.claim == name
