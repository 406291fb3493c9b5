"""Verifying requests signed with a tenant's shared secret."""

from __future__ import annotations

import contextlib
import datetime
import json
import re
import time
from collections.abc import Iterator
from typing import Any
from unittest import mock

import jwt
import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st

import atlassian_jwt
from atlassian_jwt import authenticate as authenticate_module
from atlassian_jwt import exceptions as exc
from atlassian_jwt import tokens, url_utils
from atlassian_jwt.tokens import decode_unverified
from atlassian_jwt.url_utils import canonicalize_request, hash_url
from tests.support import CLIENT_KEY, OFFICIAL, SECRET, StoreAuthenticator


def make_token(
    method: str = "GET",
    url: str = "/page?a=1",
    *,
    secret: str = SECRET,
    algorithm: str = "HS256",
    headers: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    base_url: str | None = None,
    **claims: Any,
) -> str:
    """A token as the product signs it for a call to the app."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": CLIENT_KEY,
        "iat": now,
        "exp": now + 180,
        "qsh": hash_url(method, url, base_url),
        "sub": "557058:user",
        "context": {},
    }
    payload.update(claims)
    for name in drop:
        payload.pop(name)
    return sign(payload, secret, algorithm=algorithm, headers=headers)


def sign(
    payload: dict[str, Any],
    secret: str = SECRET,
    *,
    algorithm: str = "HS256",
    headers: dict[str, Any] | None = None,
) -> str:
    """Sign any JSON payload, even claims that PyJWT's encode refuses (a non-string iss)."""
    return jwt.PyJWS().encode(
        json.dumps(payload).encode(), secret, algorithm=algorithm, headers=headers
    )


def auth_header(token: str) -> dict[str, str]:
    return {"Authorization": f"JWT {token}"}


# Atlassian's own tokens, end to end.


def _official_token(url: str) -> str:
    return url.split("jwt=", 1)[1].split("&", 1)[0]


@pytest.fixture
def official_authenticator() -> Iterator[type[atlassian_jwt.Authenticator]]:
    class Official(atlassian_jwt.Authenticator):
        def get_shared_secret(self, client_key: str) -> str | None:
            return str(OFFICIAL["secret"]) if client_key == "jira:1234-5678-9000" else None

    yield Official


# The vector file's secret is 18 bytes, shorter than PyJWT likes: its warning is expected here.
@pytest.mark.filterwarnings("ignore:The HMAC key is:UserWarning")
@pytest.mark.parametrize("vector", [pytest.param(v, id=v["name"]) for v in OFFICIAL["tests"]])
def test_official_tokens_verify_end_to_end(
    vector: dict[str, Any], official_authenticator: type[atlassian_jwt.Authenticator]
) -> None:
    token = _official_token(vector["url"])
    _, claims = decode_unverified(token)
    authenticator = official_authenticator(base_url=vector["baseUrl"])
    # Their exp is in 2014: verify at a moment inside their lifetime.
    with time_machine.travel(claims["iat"] + 1, tick=False):
        result = authenticator.authenticate(vector["method"], vector["url"])
    assert result.client_key == "jira:1234-5678-9000"
    assert result.claims["qsh"] == vector["qsh"]
    # Now, years later, the same token is expired.
    with pytest.raises(atlassian_jwt.TokenExpiredError):
        authenticator.authenticate(vector["method"], vector["url"])


def test_a_clock_frozen_by_freezegun_decides_expiry(authenticator: StoreAuthenticator) -> None:
    # App test suites freeze time with freezegun, which replaces datetime in the modules that
    # imported it. authenticate reads the clock as jwt.decode does (3.0.0 called it), so the
    # frozen clock decides: a minute's token, with the 90 s leeway.
    import freezegun

    now = 1_700_000_000
    token = make_token(iat=now, exp=now + 60)
    for moment, outcome in [
        (now + 149, None),
        (now + 150, atlassian_jwt.TokenExpiredError),
        (now - 91, atlassian_jwt.TokenNotYetValidError),
    ]:
        frozen = datetime.datetime.fromtimestamp(moment, datetime.timezone.utc)
        with freezegun.freeze_time(frozen):
            if outcome is None:
                assert authenticator.authenticate("GET", "/page?a=1", auth_header(token))
            else:
                with pytest.raises(outcome):
                    authenticator.authenticate("GET", "/page?a=1", auth_header(token))


@pytest.mark.filterwarnings("ignore:The HMAC key is:UserWarning")
def test_official_token_rejected_on_another_request(
    official_authenticator: type[atlassian_jwt.Authenticator],
) -> None:
    vector = OFFICIAL["tests"][0]
    token = _official_token(vector["url"])
    _, claims = decode_unverified(token)
    with time_machine.travel(claims["iat"] + 1, tick=False):
        with pytest.raises(atlassian_jwt.QshMismatchError):
            official_authenticator().authenticate("GET", f"/test?param=other&jwt={token}")


# Round trips encode_token -> authenticate.

ROUND_TRIPS = [
    ("GET", "/page", None),
    ("get", "/page/?b=2&a=1&a=0", None),
    ("POST", "/webhook?event=jira%3Aissue_created", None),
    ("PUT", "https://app.example.com/x/y?q=a+b&q=%2B", None),
    ("DELETE", "/items/7;v=1", None),
    ("PATCH", "/", None),
    ("GET", "/prefix/app/page?lic=none&tz=Australia%2FSydney", "https://app.example.com/prefix"),
    ("GET", "https://app.example.com/prefix/", "/prefix"),
    ("HEAD", "/p?x=%E5%AE%AE&x=%F0%9F%98%80&x=%EF%BF%BD", None),
]


@pytest.mark.parametrize(("method", "url", "base_url"), ROUND_TRIPS)
def test_round_trip_in_header_and_query(
    tenant: dict[str, Any], method: str, url: str, base_url: str | None
) -> None:
    authenticator = StoreAuthenticator({CLIENT_KEY: tenant}, base_url=base_url)
    token = atlassian_jwt.encode_token(
        method, url, CLIENT_KEY, SECRET, baseUrl=base_url, payload_kwargs={"sub": "u"}
    )
    in_header = authenticator.authenticate(method, url, auth_header(token))
    assert in_header.client_key == CLIENT_KEY
    assert in_header.claims["sub"] == "u"
    separator = "&" if "?" in url else "?"
    result = authenticator.authenticate(method, f"{url}{separator}jwt={token}")
    assert result.client_key == CLIENT_KEY
    assert result.claims == in_header.claims


def test_result_unpacks_into_client_key_and_claims(authenticator: StoreAuthenticator) -> None:
    result = authenticator.authenticate("GET", "/page?a=1", auth_header(make_token()))
    assert isinstance(result, atlassian_jwt.AuthResult)
    untyped: Any = result  # as 3.0.0's untyped callers hold it; mypy unpacks a str as str
    client_key, claims = untyped
    assert client_key == result.client_key == CLIENT_KEY
    assert claims is result.claims and claims["sub"] == "557058:user"


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": "jwt TOKEN"},
        {"AUTHORIZATION": "Jwt   TOKEN  "},
        [("Authorization", "JWT TOKEN")],
        [(b"authorization", b"JWT TOKEN")],
        [("Authorization", "Basic abc"), ("Authorization", "JWT TOKEN")],
    ],
)
def test_header_forms(authenticator: StoreAuthenticator, headers: Any) -> None:
    token = make_token()
    if isinstance(headers, dict):
        headers = {name: value.replace("TOKEN", token) for name, value in headers.items()}
    else:
        headers = [
            (name, value.replace(b"TOKEN", token.encode()))
            if isinstance(value, bytes)
            else (name, value.replace("TOKEN", token))
            for name, value in headers
        ]
    assert authenticator.authenticate("GET", "/page?a=1", headers).client_key == CLIENT_KEY


class _HeaderObject:
    """A framework-style header object: items() but no Mapping registration, keys on iteration."""

    def __init__(self, **headers: str) -> None:
        self._headers = headers

    def items(self) -> list[tuple[str, str]]:
        return list(self._headers.items())

    def __iter__(self) -> Iterator[str]:
        return iter(self._headers)


def test_header_object_with_items_only(authenticator: StoreAuthenticator) -> None:
    headers = _HeaderObject(Authorization=f"JWT {make_token()}")
    result = authenticator.authenticate("GET", "/page?a=1", headers)  # type: ignore[arg-type]
    assert result.client_key == CLIENT_KEY


def test_bearer_scheme_is_not_a_connect_token(authenticator: StoreAuthenticator) -> None:
    with pytest.raises(atlassian_jwt.TokenMissingError):
        authenticator.authenticate("GET", "/page?a=1", {"Authorization": f"Bearer {make_token()}"})


def test_app_base_path_stripped(tenant: dict[str, Any]) -> None:
    authenticator = StoreAuthenticator({CLIENT_KEY: tenant}, base_url="https://app.example.com/my")
    token = make_token("POST", "/installed")  # Atlassian hashes relative to the app's base URL
    assert authenticator.authenticate("POST", "/my/installed", auth_header(token))
    with pytest.raises(atlassian_jwt.QshMismatchError):
        StoreAuthenticator({CLIENT_KEY: tenant}).authenticate(
            "POST", "/my/installed", auth_header(token)
        )


def test_form_body_params_opt_in(authenticator: StoreAuthenticator) -> None:
    body = "field=a+b&other=1"
    canonical = canonicalize_request("POST", "/submit", body_params=body)
    assert canonical == "POST&/submit&field=a%20b&other=1"
    token = make_token("POST", "/submit", qsh=hash_url("POST", "/submit", body_params=body))
    result = authenticator.authenticate("POST", "/submit", auth_header(token), body_params=body)
    assert result.client_key == CLIENT_KEY
    with pytest.raises(atlassian_jwt.QshMismatchError):
        authenticator.authenticate("POST", "/submit", auth_header(token))


def test_token_in_form_body(authenticator: StoreAuthenticator) -> None:
    token = make_token("POST", "/submit", qsh=hash_url("POST", "/submit", body_params="a=1"))
    result = authenticator.authenticate("POST", "/submit", body_params=f"a=1&jwt={token}")
    assert result.client_key == CLIENT_KEY


# Context tokens.


def test_context_qsh_rejected_by_default(authenticator: StoreAuthenticator) -> None:
    token = make_token(qsh="context-qsh")
    with pytest.raises(atlassian_jwt.QshMismatchError) as info:
        authenticator.authenticate("GET", "/page?a=1", auth_header(token))
    assert info.value.token_qsh == "context-qsh"


def test_context_qsh_accepted_when_allowed(authenticator: StoreAuthenticator) -> None:
    token = make_token(qsh="context-qsh")
    result = authenticator.authenticate(
        "GET", "/api/anything", auth_header(token), allow_context_qsh=True
    )
    assert result.claims["qsh"] == atlassian_jwt.CONTEXT_QSH
    # A real qsh still works on such a route; a wrong one still fails.
    assert authenticator.authenticate(
        "GET", "/page?a=1", auth_header(make_token()), allow_context_qsh=True
    )
    with pytest.raises(atlassian_jwt.QshMismatchError):
        authenticator.authenticate(
            "GET", "/other", auth_header(make_token()), allow_context_qsh=True
        )


# Rejections, each with its own type and code.


def test_no_token(authenticator: StoreAuthenticator) -> None:
    with pytest.raises(atlassian_jwt.TokenMissingError) as info:
        authenticator.authenticate("GET", "/page")
    assert info.value.code == "token_missing"


def test_two_jwt_parameters_are_refused(authenticator: StoreAuthenticator) -> None:
    token = make_token()
    with pytest.raises(atlassian_jwt.MalformedTokenError):
        authenticator.authenticate("GET", f"/page?a=1&jwt={token}&jwt={token}")


def test_bad_signature(authenticator: StoreAuthenticator) -> None:
    token = make_token(secret="another-secret-another-secret-another-secret")
    with pytest.raises(atlassian_jwt.InvalidSignatureError) as info:
        authenticator.authenticate("GET", "/page?a=1", auth_header(token))
    assert isinstance(info.value, jwt.InvalidSignatureError)
    assert info.value.code == "invalid_signature"


def test_tampered_payload(authenticator: StoreAuthenticator) -> None:
    header, _, signature = make_token().split(".")
    forged = sign({"iss": CLIENT_KEY, "qsh": "x"}, "k" * 32).split(".")[1]
    with pytest.raises(atlassian_jwt.InvalidSignatureError):
        authenticator.authenticate(
            "GET", "/page?a=1", auth_header(f"{header}.{forged}.{signature}")
        )


def test_unknown_issuer(authenticator: StoreAuthenticator) -> None:
    token = make_token(iss="someone-else")
    with pytest.raises(atlassian_jwt.UnknownIssuerError) as info:
        authenticator.authenticate("GET", "/page?a=1", auth_header(token))
    assert info.value.code == "unknown_issuer"


@pytest.mark.parametrize("failure", [KeyError("x"), LookupError("x"), TypeError("x")])
def test_lookup_errors_mean_unknown_issuer(failure: Exception) -> None:
    class Failing(atlassian_jwt.Authenticator):
        def get_shared_secret(self, client_key: str) -> str:
            raise failure

    with pytest.raises(atlassian_jwt.UnknownIssuerError):
        Failing().authenticate("GET", "/page?a=1", auth_header(make_token()))


def test_regression_3_0_0_type_error_on_unknown_tenant() -> None:
    # The 1.x README's subclass: store.get(client_key)["sharedSecret"].
    class ReadmeAddon(atlassian_jwt.Authenticator):
        def __init__(self, tenant_info_store: dict[str, dict[str, str]]) -> None:
            super().__init__()
            self.tenant_info_store = tenant_info_store

        def get_shared_secret(self, client_key: str) -> str:
            tenant_info = self.tenant_info_store.get(client_key)
            return tenant_info["sharedSecret"]  # type: ignore[index]

    with pytest.raises(atlassian_jwt.DecodeError):
        ReadmeAddon({}).authenticate("GET", "/page?a=1", auth_header(make_token()))


@pytest.mark.parametrize("claim", ["iss", "iat", "exp", "qsh"])
def test_regression_3_0_0_required_claims(authenticator: StoreAuthenticator, claim: str) -> None:
    # 3.0.0 accepted tokens without exp/iat and raised KeyError without qsh or iss.
    token = make_token(drop=(claim,))
    with pytest.raises(atlassian_jwt.MissingClaimError) as info:
        authenticator.authenticate("GET", "/page?a=1", auth_header(token))
    assert info.value.claim == claim
    assert isinstance(info.value, jwt.MissingRequiredClaimError)


def test_regression_3_0_0_expired_token_escaped_decode_error(
    authenticator: StoreAuthenticator,
) -> None:
    now = int(time.time())
    token = make_token(iat=now - 1000, exp=now - 91)
    with pytest.raises(atlassian_jwt.DecodeError) as info:
        authenticator.authenticate("GET", "/page?a=1", auth_header(token))
    assert isinstance(info.value, atlassian_jwt.TokenExpiredError)
    assert isinstance(info.value, jwt.ExpiredSignatureError)


def test_leeway_applies_to_exp(authenticator: StoreAuthenticator) -> None:
    now = int(time.time())
    token = make_token(iat=now - 1000, exp=now - 60)
    assert authenticator.authenticate("GET", "/page?a=1", auth_header(token))
    authenticator.leeway = 30
    with pytest.raises(atlassian_jwt.TokenExpiredError):
        authenticator.authenticate("GET", "/page?a=1", auth_header(token))


def test_iat_in_the_future_beyond_leeway(authenticator: StoreAuthenticator) -> None:
    now = int(time.time())
    with pytest.raises(atlassian_jwt.TokenNotYetValidError):
        authenticator.authenticate(
            "GET", "/page?a=1", auth_header(make_token(iat=now + 300, exp=now + 600))
        )
    assert authenticator.authenticate(
        "GET", "/page?a=1", auth_header(make_token(iat=now + 60, exp=now + 600))
    )


def test_nbf_in_the_future(authenticator: StoreAuthenticator) -> None:
    token = make_token(nbf=int(time.time()) + 3600)
    with pytest.raises(atlassian_jwt.TokenNotYetValidError):
        authenticator.authenticate("GET", "/page?a=1", auth_header(token))


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_regression_3_0_0_wrong_algorithm_escaped_decode_error(
    authenticator: StoreAuthenticator, algorithm: str
) -> None:
    token = make_token(algorithm=algorithm)
    with pytest.raises(atlassian_jwt.DecodeError) as info:
        authenticator.authenticate("GET", "/page?a=1", auth_header(token))
    assert isinstance(info.value, atlassian_jwt.AlgorithmNotAllowedError)
    assert isinstance(info.value, jwt.InvalidAlgorithmError)


def test_alg_none_is_never_accepted(authenticator: StoreAuthenticator) -> None:
    now = int(time.time())
    claims = {"iss": CLIENT_KEY, "iat": now, "exp": now + 60, "qsh": hash_url("GET", "/page")}
    token = sign(claims, "", algorithm="none")
    with pytest.raises(atlassian_jwt.AlgorithmNotAllowedError):
        authenticator.authenticate("GET", "/page", auth_header(token))


def test_regression_3_0_0_qsh_checked_before_signature(authenticator: StoreAuthenticator) -> None:
    # A forged token for the wrong request must fail on its signature, not on its qsh: the
    # qsh verdict is only reached for tokens the tenant signed.
    forged = make_token("GET", "/elsewhere", secret="f" * 40)
    with pytest.raises(atlassian_jwt.InvalidSignatureError):
        authenticator.authenticate("GET", "/page?a=1", auth_header(forged))


def test_regression_3_0_0_audience_taken_from_unverified_token(
    authenticator: StoreAuthenticator,
) -> None:
    # 3.0.0 passed the token's own aud as the expected audience, which checks nothing. Here
    # aud is not compared with itself; a genuine token with any aud authenticates, and a
    # forged one fails on its signature whatever its aud.
    assert authenticator.authenticate("GET", "/page?a=1", auth_header(make_token(aud="x")))
    assert authenticator.authenticate("GET", "/page?a=1", auth_header(make_token(aud=["x", "y"])))
    forged = make_token(aud="anything", secret="f" * 40)
    with pytest.raises(atlassian_jwt.InvalidSignatureError):
        authenticator.authenticate("GET", "/page?a=1", auth_header(forged))


def test_regression_3_0_0_key_error_on_missing_qsh_or_iss(
    authenticator: StoreAuthenticator,
) -> None:
    for claim in ("qsh", "iss"):
        with pytest.raises(atlassian_jwt.DecodeError):
            authenticator.authenticate("GET", "/page?a=1", auth_header(make_token(drop=(claim,))))


def test_qsh_mismatch_carries_diagnostics(authenticator: StoreAuthenticator) -> None:
    token = make_token("GET", "/page?a=1")
    with pytest.raises(atlassian_jwt.QshMismatchError) as info:
        authenticator.authenticate("GET", "/page?a=2", auth_header(token))
    error = info.value
    assert error.code == "qsh_mismatch"
    assert error.canonical_request == "GET&/page&a=2"
    assert error.expected_qsh == hash_url("GET", "/page?a=2")
    assert error.token_qsh == hash_url("GET", "/page?a=1")
    assert token not in str(error) and token not in repr(error)
    assert SECRET not in str(error) and SECRET not in repr(error)


@pytest.mark.parametrize("qsh", [123, ["x"], "é" * 64, "\ud800", ""])
def test_qsh_of_wrong_type_or_text(authenticator: StoreAuthenticator, qsh: Any) -> None:
    with pytest.raises(atlassian_jwt.QshMismatchError):
        authenticator.authenticate("GET", "/page?a=1", auth_header(make_token(qsh=qsh)))


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({"iss": 12}, atlassian_jwt.InvalidClaimError),
        ({"iss": ""}, atlassian_jwt.InvalidClaimError),
        ({"exp": "soon"}, atlassian_jwt.DecodeError),
        ({"exp": [1]}, atlassian_jwt.DecodeError),
        ({"exp": 1e400}, atlassian_jwt.DecodeError),
        ({"iat": {"a": 1}}, atlassian_jwt.DecodeError),
        ({"iat": "x"}, atlassian_jwt.InvalidClaimError),
        ({"sub": 5}, atlassian_jwt.InvalidClaimError),
    ],
)
def test_claims_of_the_wrong_type(
    authenticator: StoreAuthenticator, claims: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        authenticator.authenticate("GET", "/page?a=1", auth_header(make_token(**claims)))


def test_oversized_token_refused_before_decoding(authenticator: StoreAuthenticator) -> None:
    class Counting(StoreAuthenticator):
        lookups = 0

        def get_shared_secret(self, client_key: str) -> str | None:
            Counting.lookups += 1
            return super().get_shared_secret(client_key)

    big = make_token(padding="x" * 9000)
    counting = Counting(authenticator.tenants)
    with pytest.raises(atlassian_jwt.TokenTooLargeError) as info:
        counting.authenticate("GET", "/page?a=1", auth_header(big))
    assert info.value.code == "token_too_large"
    assert Counting.lookups == 0
    assert big not in str(info.value)


@pytest.mark.parametrize(
    "token",
    [
        "abc",
        "a.b",
        "a.b.c.d",
        "!!!.###.$$$",
        "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.sig",
        "eyJhbGciOiJIUzI1NiJ9.WzEsMl0.sig",  # payload is a list
        "é.é.é",
        "eyJhbGciOiJIUzI1NiJ9." + "W" * 20 + ".x",
    ],
)
def test_malformed_tokens(authenticator: StoreAuthenticator, token: str) -> None:
    with pytest.raises(atlassian_jwt.MalformedTokenError):
        authenticator.authenticate("GET", "/page", auth_header(token))


def test_lone_surrogate_url_is_a_rejection(authenticator: StoreAuthenticator) -> None:
    with pytest.raises(atlassian_jwt.MalformedRequestError):
        authenticator.authenticate("GET", "/page\ud800", auth_header(make_token()))


def test_authenticator_is_abstract() -> None:
    with pytest.raises(TypeError):
        atlassian_jwt.Authenticator()  # type: ignore[abstract]


@pytest.mark.parametrize("algorithms", [(), ("RS256",), ("HS256", "none"), ("none",)])
def test_only_hmac_algorithms_can_be_pinned(algorithms: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        StoreAuthenticator({}, algorithms=algorithms)


def test_get_token_static_method_kept() -> None:
    get_token = atlassian_jwt.Authenticator._get_token
    assert get_token(headers={"Authorization": "JWT a.b.c"}) == "a.b.c"
    assert get_token(query_params={"jwt": ["a.b.c"]}) == "a.b.c"
    assert get_token(query_params={"jwt": "a.b.c"}) == "a.b.c"
    with pytest.raises(atlassian_jwt.DecodeError):
        get_token()


# Whatever arrives, the only way out is DecodeError. (Hypothesis runs many inputs per test, so
# these share one authenticator rather than a per-test fixture.)

SHARED = StoreAuthenticator({CLIENT_KEY: {"sharedSecret": SECRET}})


_headers = st.one_of(
    st.none(),
    st.dictionaries(st.text(max_size=20), st.text(max_size=60), max_size=4),
    st.builds(lambda v: {"Authorization": v}, st.text(max_size=200)),
    st.builds(lambda v: {"Authorization": f"JWT {v}"}, st.text(max_size=300)),
)


@given(method=st.text(max_size=8), url=st.text(max_size=120), headers=_headers)
def test_arbitrary_input_raises_only_decode_error(
    method: str, url: str, headers: dict[str, str] | None
) -> None:
    with pytest.raises(atlassian_jwt.DecodeError):
        SHARED.authenticate(method, url, headers)


_segment = st.binary(max_size=80).map(lambda b: jwt.utils.base64url_encode(b).decode())
_json_segment = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
).map(lambda value: jwt.utils.base64url_encode(json.dumps(value).encode()).decode())


@given(
    header=st.one_of(_segment, _json_segment),
    payload=st.one_of(_segment, _json_segment),
    signature=_segment,
)
def test_arbitrary_token_segments_raise_only_decode_error(
    header: str, payload: str, signature: str
) -> None:
    with pytest.raises(atlassian_jwt.DecodeError):
        SHARED.authenticate("GET", "/page", auth_header(f"{header}.{payload}.{signature}"))


@given(
    claims=st.dictionaries(
        st.sampled_from(["iss", "iat", "exp", "nbf", "qsh", "sub", "aud", "jti"]),
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats()
        | st.text(max_size=8)
        | st.lists(st.integers(), max_size=2),
    )
)
def test_validly_signed_odd_claims_raise_only_decode_error(claims: dict[str, Any]) -> None:
    claims = {"iss": CLIENT_KEY, **claims}
    token = sign(claims)
    try:
        SHARED.authenticate("GET", "/page", auth_header(token))
    except atlassian_jwt.DecodeError as error:
        assert isinstance(error, exc.TokenRejectedError)
        assert SECRET not in repr(error)


# Whether the signature had verified when a token was rejected.


@pytest.mark.parametrize(
    ("token", "url", "error", "verified"),
    [
        (make_token(url="/other"), "/page?a=1", exc.QshMismatchError, True),
        (make_token(exp=int(time.time()) - 3600), "/page?a=1", exc.TokenExpiredError, True),
        (make_token(drop=("qsh",)), "/page?a=1", exc.MissingClaimError, True),
        (make_token(secret="another-secret-" * 5), "/page?a=1", exc.InvalidSignatureError, False),
        (make_token(algorithm="HS512"), "/page?a=1", exc.AlgorithmNotAllowedError, False),
        (make_token(iss="someone-else"), "/page?a=1", exc.UnknownIssuerError, False),
        (make_token(drop=("iss",)), "/page?a=1", exc.MissingClaimError, False),
        ("not-a-token", "/page?a=1", exc.MalformedTokenError, False),
    ],
    ids=["qsh", "expired", "no-qsh", "signature", "algorithm", "issuer", "no-iss", "malformed"],
)
def test_a_rejection_says_whether_the_signature_had_verified(
    authenticator: StoreAuthenticator,
    token: str,
    url: str,
    error: type[exc.TokenRejectedError],
    verified: bool,
) -> None:
    with pytest.raises(error) as caught:
        authenticator.authenticate("GET", url, auth_header(token))
    assert caught.value.signature_verified is verified


# The shortcuts against the general way: with every one of them turned off (the query parsed
# and decoded, the token decoded and checked by PyJWT's own code), authenticate must reach the
# same verdict, with the same rejection, on any request.


@contextlib.contextmanager
def general_way_only() -> Iterator[None]:
    """Turn every shortcut of ``authenticate`` off, for the verdict it must reach."""
    pyjwt_hs256 = tokens._ALGORITHMS["HS256"]

    def pyjwt_verify(signing_input: bytes, secret: str | bytes, signature: bytes) -> bool:
        return bool(pyjwt_hs256.verify(signing_input, pyjwt_hs256.prepare_key(secret), signature))

    with contextlib.ExitStack() as stack:
        for module, name, replacement in [
            (authenticate_module, "one_pass_canonical_query", lambda query, tokens=None: None),
            (url_utils, "one_pass_canonical_query", lambda query, tokens=None: None),
            (tokens, "_parse_usual", lambda token: None),
            (tokens, "_check_usual_claims", lambda claims, leeway: False),
            (tokens, "_hs256_valid", pyjwt_verify),
        ]:
            stack.enter_context(mock.patch.object(module, name, replacement))
        yield


def _verdict(authenticator: atlassian_jwt.Authenticator, *request: Any) -> Any:
    try:
        result = authenticator.authenticate(*request)
    except exc.DecodeError as error:
        verified = getattr(error, "signature_verified", None)
        return type(error), getattr(error, "code", None), verified, str(error)
    return "accepted", result.client_key, result.claims


_query_pieces = st.lists(
    st.sampled_from(
        ["a=1", "b=x+y", "c=%2f%7E", "d=caf%C3%A9", "e=\u00e9", "f=%zz", "g", "", "a=2", "h=1=2"]
        + ["j%77t=x.y.z", "jwt", "jwt=", "fields=a,b", "z=%F0%9F%90%9B", "z=%EF%BF%BD"]
    ),
    max_size=5,
)
_NOW = 1_700_000_000


@given(
    method=st.sampled_from(["GET", "post"]),
    path=st.sampled_from(["/page", "/wiki/page/", "/a&b", ""]),
    pieces=_query_pieces,
    where=st.sampled_from(["header", "query", "both", "twice in the query", "nowhere"]),
    position=st.integers(0, 5),
    # Weighted towards tokens that are accepted, or fail only at the last check.
    signed_for_this_request=st.sampled_from([True, True, False]),
    issuer=st.sampled_from([CLIENT_KEY, CLIENT_KEY, CLIENT_KEY, "unknown", "", "tab\there", 7]),
    times=st.sampled_from(
        [(0, 180), (0, 180), (0, 180), (-400, -200), (200, 400), (0, 10**20), ("0", 180)]
    ),
    header=st.sampled_from(
        [{"typ": "JWT", "alg": "HS256"}, {"alg": "HS256", "typ": "JWT"}, {"alg": "HS256"}]
    ),
    right_secret=st.sampled_from([True, True, True, False]),
)
def test_the_shortcuts_reach_the_verdict_of_the_general_way(
    method: str,
    path: str,
    pieces: list[str],
    where: str,
    position: int,
    signed_for_this_request: bool,
    issuer: Any,
    times: tuple[Any, Any],
    header: dict[str, str],
    right_secret: bool,
) -> None:
    iat, exp = (_NOW + t if isinstance(t, int) else t for t in times)
    query = "&".join(pieces)
    url = f"{path}?{query}" if query else path
    claims = {
        "iss": issuer,
        "iat": iat,
        "exp": exp,
        "qsh": hash_url(method, url if signed_for_this_request else "/elsewhere"),
        "sub": "557058:user",
    }
    # Compact JSON and the header's own key order, as the product writes them.
    token = jwt.PyJWS().encode(
        json.dumps(claims, separators=(",", ":")).encode(),
        SECRET if right_secret else SECRET[::-1],
        headers=header,
        sort_headers=False,
    )
    if where in ("query", "both", "twice in the query"):
        pieces = [*pieces[:position], f"jwt={token}", *pieces[position:]]
        if where == "twice in the query":
            pieces.append(f"jwt={token}")
        url = f"{path}?{'&'.join(pieces)}"
    headers = auth_header(token) if where in ("header", "both") else {}
    request = (method, url, headers)
    with time_machine.travel(_NOW, tick=False):
        fast = _verdict(SHARED, *request)
        with general_way_only():
            general = _verdict(GENERAL_WAY, *request)
    assert fast == general


class _OwnTokenLookup(StoreAuthenticator):
    """An Authenticator with 3.0.0's hook overridden: its query is read before its headers."""

    @staticmethod
    def _get_token(headers: Any = None, query_params: Any = None) -> str:
        return authenticate_module.request_token(headers, query_params)


GENERAL_WAY = _OwnTokenLookup({CLIENT_KEY: {"sharedSecret": SECRET}})


@given(
    issuer=st.text(st.characters(blacklist_categories=()), max_size=12)
    | st.sampled_from(["", "jira:1234", "tab\there", "del\x7f", "c1\x9f", "caf\u00e9", "\ud800"])
)
def test_the_client_key_is_read_by_one_rule_whatever_its_text(issuer: str) -> None:
    # The usual clientKey is taken as it is; any other text by the rule: not empty, and no
    # control character or surrogate.
    if issuer and not re.search("[\x00-\x1f\x7f-\x9f\ud800-\udfff]", issuer):
        assert authenticate_module.unverified_client_key({"iss": issuer}) == issuer
    else:
        with pytest.raises(exc.DecodeError):
            authenticate_module.unverified_client_key({"iss": issuer})
