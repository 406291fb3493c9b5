"""Outbound tokens: the app signing its calls to the product."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st

from atlassian_jwt import DEFAULT_LIFETIME, QshMismatchError, encode_token, hash_url
from atlassian_jwt.url_utils import BodyParams
from tests.support import APP_KEY, CLIENT_KEY, SECRET, StoreAuthenticator


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(
        token, SECRET, algorithms=["HS256"], options={"verify_aud": False}
    )
    return claims


def test_whole_tenant_dict_can_be_passed(tenant: dict[str, Any]) -> None:
    token = encode_token("GET", "/rest/api/3/myself", **tenant)
    assert isinstance(token, str)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = _claims(token)
    assert claims["qsh"] == hash_url("GET", "/rest/api/3/myself")
    assert claims["aud"] == CLIENT_KEY


def test_regression_3_0_0_outbound_iss_was_client_key(tenant: dict[str, Any]) -> None:
    # The product looks the app up by its key; 3.0.0 put the clientKey in iss and got 401s.
    assert _claims(encode_token("GET", "/rest/api/3/myself", **tenant))["iss"] == APP_KEY


def test_without_app_key_iss_stays_client_key() -> None:
    token = encode_token("GET", "/x", CLIENT_KEY, SECRET)
    assert _claims(token)["iss"] == CLIENT_KEY


@pytest.mark.parametrize(
    "url",
    [
        "/wiki/rest/api/space?limit=5",
        "https://example.atlassian.net/wiki/rest/api/space?limit=5",
        "/rest/api/space?limit=5",
    ],
)
def test_qsh_relative_to_tenant_base_url(tenant: dict[str, Any], url: str) -> None:
    tenant = {
        **tenant,
        "baseUrl": "https://example.atlassian.net/wiki",
        "productType": "confluence",
    }
    qsh = _claims(encode_token("GET", url, **tenant))["qsh"]
    assert qsh == hash_url("GET", "/rest/api/space?limit=5")
    assert qsh != hash_url("GET", "/wiki/rest/api/space?limit=5")


def test_default_lifetime_is_three_minutes(tenant: dict[str, Any]) -> None:
    before = int(time.time())
    claims = _claims(encode_token("POST", "/rest/api/3/issue", **tenant))
    after = int(time.time())
    assert DEFAULT_LIFETIME == 180
    assert isinstance(claims["iat"], int) and isinstance(claims["exp"], int)
    assert before <= claims["iat"] <= after
    assert claims["exp"] - claims["iat"] == 180


def test_timeout_secs_sets_lifetime(tenant: dict[str, Any]) -> None:
    claims = _claims(encode_token("GET", "/x", timeout_secs=30, **tenant))
    assert claims["exp"] - claims["iat"] == 30


def test_payload_kwargs_add_claims_and_may_replace_identity(tenant: dict[str, Any]) -> None:
    extra = {"sub": "557058:account", "context": {"issue": {"key": "A-1"}}, "aud": "other"}
    claims = _claims(encode_token("GET", "/x", payload_kwargs=extra, **tenant))
    assert claims["sub"] == "557058:account"
    assert claims["context"] == {"issue": {"key": "A-1"}}
    assert claims["aud"] == "other"


@pytest.mark.parametrize("claim", ["qsh", "iat", "exp"])
def test_payload_kwargs_cannot_replace_computed_claims(tenant: dict[str, Any], claim: str) -> None:
    with pytest.raises(ValueError, match=claim):
        encode_token("GET", "/x", payload_kwargs={claim: 1}, **tenant)


@pytest.mark.parametrize(
    ("client_key", "secret", "timeout"),
    [
        ("", SECRET, 60),
        (CLIENT_KEY, "", 60),
        (CLIENT_KEY, None, 60),
        (CLIENT_KEY, SECRET, 0),
        (CLIENT_KEY, SECRET, -5),
        (CLIENT_KEY, SECRET, True),
        (CLIENT_KEY, SECRET, 1.5),
    ],
)
def test_bad_arguments_are_value_errors(client_key: Any, secret: Any, timeout: Any) -> None:
    with pytest.raises(ValueError) as info:
        encode_token("GET", "/x", client_key, secret, timeout_secs=timeout)
    assert SECRET not in str(info.value)


# Form-encoded POSTs: the body's fields are hashed with the query parameters (issue 13).

_FORM = "summary=Disk+full&labels=ops&labels=urgent&note=50%25+%26+rising"


def test_body_params_are_hashed_with_the_query(tenant: dict[str, Any]) -> None:
    url = "/rest/api/3/issue?notify=true"
    claims = _claims(encode_token("POST", url, body_params=_FORM, **tenant))
    assert claims["qsh"] == hash_url("POST", url, body_params=_FORM)
    assert claims["qsh"] == hash_url("POST", f"{url}&{_FORM}")
    assert claims["qsh"] != hash_url("POST", url)


@pytest.mark.parametrize(
    "body",
    [
        _FORM,
        _FORM.encode("ascii"),
        {"summary": "Disk full", "labels": ["urgent", "ops"], "note": "50% & rising"},
    ],
    ids=["text", "bytes", "mapping"],
)
def test_encode_with_body_params_round_trips_through_authenticate(body: BodyParams) -> None:
    # Signed as the product signs a form POST to an app, verified with the body as received.
    tenants = {CLIENT_KEY: {"sharedSecret": SECRET}}
    url = "/webhook?x=1"
    token = encode_token("POST", url, CLIENT_KEY, SECRET, body_params=body)
    headers = {"Authorization": f"JWT {token}"}
    result = StoreAuthenticator(tenants).authenticate("POST", url, headers, body_params=_FORM)
    assert result.client_key == CLIENT_KEY
    assert result.claims["qsh"] == hash_url("POST", url, body_params=_FORM)
    with pytest.raises(QshMismatchError):
        StoreAuthenticator(tenants).authenticate("POST", url, headers)


_field = st.text(st.characters(codec="utf-8"), max_size=8)


@given(
    fields=st.lists(st.tuples(_field.filter(bool), _field), max_size=6),
    query=st.sampled_from(["", "?a=1", "?jwt_hint=1&b=x+y"]),
)
def test_any_form_signed_as_a_mapping_verifies_as_the_body_sent(
    fields: list[tuple[str, str]], query: str
) -> None:
    # The mapping an app passes to its HTTP client, and the body that client sends.
    mapping: dict[str, list[str]] = {}
    for name, value in fields:
        mapping.setdefault(name, []).append(value)
    body = urlencode(fields)
    token = encode_token("POST", f"/form{query}", CLIENT_KEY, SECRET, body_params=mapping)
    authenticator = StoreAuthenticator({CLIENT_KEY: {"sharedSecret": SECRET}})
    result = authenticator.authenticate(
        "POST", f"/form{query}", {"Authorization": f"JWT {token}"}, body_params=body
    )
    assert result.client_key == CLIENT_KEY


def test_body_params_of_another_type_is_a_type_error(tenant: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="body_params"):
        encode_token("POST", "/x", body_params=[("a", "1")], **tenant)  # type: ignore[arg-type]


# Byte for byte what jwt.encode signs: the usual five claims are written without a JSON
# encoder, so their text (names in their order, strings escaped as json.dumps escapes them)
# is held to jwt.encode's, whatever the key, the client key, the extra claims and the secret.
_text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=8) | (
    st.sampled_from(["com.example.app", 'q"', "b\\", "tab\t", "caf\u00e9", "\U0001f41b"])
)


@given(
    app_key=st.none() | _text | st.integers(1, 9),
    client_key=_text,
    extra=st.none()
    | st.just({})
    | st.dictionaries(st.sampled_from(["sub", "aud", "iss", "context"]), _text, max_size=2),
    secret=st.sampled_from([SECRET, SECRET.encode(), "s\u00e9cret-" * 8]),
    lifetime=st.sampled_from([1, DEFAULT_LIFETIME, 10**9]),
)
def test_encode_token_signs_what_jwt_encode_signs(
    app_key: Any, client_key: str, extra: dict[str, str] | None, secret: str | bytes, lifetime: int
) -> None:
    info: dict[str, Any] = {
        "clientKey": client_key,
        "sharedSecret": secret,
        "baseUrl": "https://x.atlassian.net",
    }
    if app_key is not None:
        info["key"] = app_key
    request = ("GET", "/rest/api/3/x?b=2&a=1")
    claims = {
        "iss": app_key or client_key,
        "iat": 1_700_000_000,
        "exp": 1_700_000_000 + lifetime,
        "qsh": hash_url("GET", "/rest/api/3/x?a=1&b=2"),
        "aud": client_key,
        **(extra or {}),
    }
    with time_machine.travel(1_700_000_000.75, tick=False):
        try:
            expected = jwt.encode(claims, secret, algorithm="HS256")
        except TypeError:  # a newer PyJWT refuses an iss that is not text: so must we
            with pytest.raises(TypeError):
                encode_token(*request, timeout_secs=lifetime, payload_kwargs=extra, **info)
            return
        token = encode_token(*request, timeout_secs=lifetime, payload_kwargs=extra, **info)
    assert token == expected
