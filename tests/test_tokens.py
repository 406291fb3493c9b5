"""Reading a token once, strictly, and verifying it with PyJWT's algorithms and claim checks.

The verifier decodes a token itself (once) and hands the signature to PyJWT's implementation of
the algorithm and the claims to PyJWT's claim validation. These tests hold it to PyJWT's own
``jwt.decode``: on any token, both accept it or both refuse it, for the same reason, except
where the verifier is deliberately stricter: a time claim (``iat``, ``nbf``, ``exp``) that is no
JSON number, which PyJWT reads with ``int()`` and so may accept, is always ``invalid_claim``.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import math
import sys
import warnings
from collections import OrderedDict
from typing import Any
from unittest import mock

import jwt
import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st
from jwt.utils import base64url_decode

from atlassian_jwt import exceptions as exc
from atlassian_jwt import tokens
from atlassian_jwt.tokens import (
    ParsedToken,
    TokenVerifier,
    decode_unverified,
    parse_token,
    sign_hs256,
)
from tests.support import SECRET

_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256"}').decode().rstrip("=")
NOW = 1_700_000_000


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _reference(segment: str) -> Any:
    """A segment read by the rule: the one unpadded base64url spelling of a JSON object.

    Decoded leniently, then encoded again: only a segment that comes back unchanged is spelled
    canonically (no padding, no stray characters, no stray bits in the last character).
    """
    try:
        decoded = base64url_decode(segment.encode("ascii"))
        value = json.loads(decoded)
    except (binascii.Error, ValueError):
        return "malformed"
    if _b64(decoded) != segment:
        return "malformed"
    return value if isinstance(value, dict) else "malformed"


def _ours(segment: str) -> Any:
    try:
        return decode_unverified(f"{_HEADER}.{segment}.sig")[1]
    except exc.MalformedTokenError:
        return "malformed"


_objects = st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=4)


@given(claims=_objects, strip=st.integers(0, 2), junk=st.sampled_from(["", "=", "==", "!", "+/"]))
def test_payload_segments_decode_by_the_rule(claims: dict[str, Any], strip: int, junk: str) -> None:
    # Valid segments, with padding left on or cut short, and invalid characters appended.
    segment = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode()
    segment = segment.rstrip("=") if strip == 0 else segment[: len(segment) - strip]
    assert _ours(segment + junk) == _reference(segment + junk)


@given(segment=st.text(st.sampled_from("AZaz09-_+/=!e3"), max_size=24))
def test_arbitrary_segments_decode_or_fail_by_the_rule(segment: str) -> None:
    assert _ours(segment) == _reference(segment)


def _reference_bytes(segment: str) -> Any:
    """A signature segment read by the rule: the one unpadded base64url spelling of bytes."""
    try:
        decoded = base64url_decode(segment.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError):
        return "malformed"
    return decoded if _b64(decoded) == segment else "malformed"


# Segments as products write them (the usual headers among them), and the same with a
# character added, cut off, or replaced by one outside base64url.
_written = st.sampled_from(
    ["eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9"]
) | _objects.map(lambda claims: _b64(json.dumps(claims).encode()))
_spoilt = st.tuples(
    _written, st.integers(0, 40), st.sampled_from(["", "A", "+", "/", "=", "!", "\u00e9", "."])
).map(lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + 1 :])
_any_segment = _written | _spoilt | st.text(st.sampled_from("AZaz09-_+/=!e3"), max_size=24)


@given(header=_any_segment, payload=_any_segment, signature=_any_segment)
def test_parse_token_reads_every_token_by_the_rule(
    header: str, payload: str, signature: str
) -> None:
    # Its shortcuts (the usual headers not decoded, the payload read as JSON text, the last
    # character checked instead of encoding again) read exactly what the rule reads.
    token = f"{header}.{payload}.{signature}"
    try:
        parsed: Any = parse_token(token)
    except exc.MalformedTokenError:
        parsed = "malformed"
    expected = (_reference(header), _reference(payload), _reference_bytes(signature))
    if "." in header + payload + signature or "malformed" in expected:
        assert parsed == "malformed"
    else:
        assert parsed == (*expected[:2], f"{header}.{payload}".encode(), expected[2])


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ("e30", {}),  # {}
        ("e30=", "malformed"),  # padded: JWS segments are never padded
        ("e30==", "malformed"),
        ("e31", "malformed"),  # {} too, leniently: stray bits in the last character
        ("W10", "malformed"),  # []
        ("bnVsbA", "malformed"),  # null
        ("", "malformed"),
        ("x", "malformed"),
    ],
)
def test_known_segments(segment: str, expected: Any) -> None:
    assert _ours(segment) == expected
    assert _reference(segment) == expected


def test_parse_token_keeps_what_the_signature_covers() -> None:
    token = jwt.encode({"iss": "x", "n": 1}, SECRET, algorithm="HS256")
    parsed = parse_token(token)
    head, body, signature = token.split(".")
    assert parsed.header == {"alg": "HS256", "typ": "JWT"}
    assert parsed.claims == {"iss": "x", "n": 1}
    assert parsed.signing_input == f"{head}.{body}".encode()
    assert _b64(parsed.signature) == signature


@pytest.mark.parametrize(
    "token",
    ["a.b", "a.b.c.d", "e30.e30.e30=", "e30.e30.!!!!", "e30.e30.e31", "é30.e30.e30", 42],
)
def test_parse_token_refuses_what_is_not_a_compact_jws(token: Any) -> None:
    with pytest.raises(exc.MalformedTokenError):
        parse_token(token)


def test_parse_token_refuses_long_tokens_before_decoding() -> None:
    with pytest.raises(exc.TokenTooLargeError):
        parse_token("!" * 101 + ".e30.e30", max_length=100)
    assert parse_token("e30.e30.", max_length=None).claims == {}


# The verifier against PyJWT's decode.

REQUIRED = ("iss", "iat", "exp", "qsh")


def _sign(
    header: dict[str, Any], claims: dict[str, Any], key: str, separators: Any = None
) -> str:
    """Sign as any product might, whatever the claims hold (jwt.encode refuses some)."""
    header_json = json.dumps(header, separators=separators)
    claims_json = json.dumps(claims, separators=separators)
    signing_input = f"{_b64(header_json.encode())}.{_b64(claims_json.encode())}"
    signature = jwt.algorithms.HMACAlgorithm(jwt.algorithms.HMACAlgorithm.SHA256).sign(
        signing_input.encode(), key.encode()
    )
    return f"{signing_input}.{_b64(signature)}"


def _pyjwt_outcome(token: str, key: Any, audience: str | None, **checks: Any) -> Any:
    """PyJWT's own verdict: the claims, or the name of the rejection they map to."""
    options: Any = {"require": list(REQUIRED), "verify_aud": audience is not None}
    try:
        return jwt.decode(
            token, key, algorithms=["HS256"], options=options, audience=audience, **checks
        )
    except jwt.InvalidSignatureError:
        return "invalid_signature"
    except jwt.MissingRequiredClaimError:
        return "missing_claim"
    except jwt.ExpiredSignatureError:
        return "token_expired"
    except jwt.ImmatureSignatureError:
        return "token_not_yet_valid"
    except jwt.InvalidAudienceError:
        return "invalid_audience"
    except jwt.InvalidIssuerError:
        return "invalid_issuer"
    except (
        jwt.InvalidIssuedAtError,
        jwt.exceptions.InvalidSubjectError,
        jwt.exceptions.InvalidJTIError,
        TypeError,
        ValueError,
        OverflowError,
    ):
        return "invalid_claim"
    except jwt.DecodeError:  # a time claim that is no number, for one
        return "token_malformed"


def _our_outcome(verifier: TokenVerifier, token: str, key: Any) -> Any:
    try:
        return verifier.verify(token, key)
    except exc.TokenRejectedError as error:
        return error.code


def test_the_verifier_calls_pyjwts_own_claim_validation() -> None:
    """The canary of the one private PyJWT API the verifier uses (tox's ``pyjwt-latest`` runs
    it on the newest PyJWT, unpinned): ``jwt.PyJWT._validate_claims`` is there, with the
    parameters we pass, and is what the verifier calls. A release that renames or reshapes it
    fails here first; the verifier itself falls back to validating by decoding, and the
    differential tests below hold either way."""
    assert tokens._has_claim_validation(), f"PyJWT {jwt.__version__} changed _validate_claims"
    assert tokens._validate_claims is jwt.PyJWT._validate_claims


# Both ways claims reach PyJWT: its claim validation alone, and (for a PyJWT without it callable
# alone) a decode of the same claims.
claim_checks = pytest.mark.parametrize(
    "claim_check",
    [
        pytest.param(tokens._validate_claims, id="pyjwt-claim-validation"),
        pytest.param(tokens._validate_claims_by_decoding, id="validated-by-decoding"),
    ],
)


_values = (
    st.none()
    | st.booleans()
    | st.integers(NOW - 400, NOW + 400)
    | st.floats(allow_nan=False, allow_infinity=True)
    | st.text(max_size=6)
    | st.lists(st.text(max_size=4), max_size=2)
    | st.sampled_from([10**30, -(10**30), "1700000000", {"a": 1}])
)
_claims = st.fixed_dictionaries(
    {},
    optional={
        "iss": _values | st.just("tenant"),
        # NaN only in time claims, which never reach the claims compared below.
        "iat": _values | st.integers(NOW - 100, NOW) | st.just(math.nan),
        "exp": _values | st.integers(NOW, NOW + 400) | st.just(math.nan),
        "nbf": _values | st.just(math.nan) | st.just(10**400),
        "qsh": _values | st.just("abc"),
        "aud": _values | st.just("tenant") | st.just(["tenant", "other"]),
        "sub": _values,
        "jti": _values,
    },
)


# Claims as products sign them, every time claim a whole number of seconds on either side of
# each boundary (now, now plus or minus each leeway), with, now and then, a time at the edge of
# what is checked without PyJWT, or a subject or JWT ID of another type.
_offsets = st.sampled_from([-91, -90, -89, -31, -30, -29, -2, -1, 0, 1, 2, 29, 30, 31, 89, 90, 91])
_usual_times = st.builds(lambda offset: NOW + offset, _offsets) | st.sampled_from(
    [2**53, 2**53 + 1, -(2**53), -(2**53) - 1, 10**20, True]
)
_usual_claims = st.fixed_dictionaries(
    {"iss": st.just("tenant"), "qsh": st.just("abc"), "iat": _usual_times, "exp": _usual_times},
    optional={
        "nbf": _usual_times,
        "sub": st.text(max_size=4) | _values,
        "jti": st.text(max_size=4) | _values,
        "aud": st.just("tenant"),
    },
)

# The headers and JSON spellings products sign with (the usual ones, which the verifier knows
# without decoding them, compact), and others.
_headers = st.sampled_from(
    [
        ({"alg": "HS256", "typ": "JWT"}, (",", ":")),  # PyJWT, Atlassian's Java library
        ({"typ": "JWT", "alg": "HS256"}, (",", ":")),  # Atlassian's Node library
        ({"alg": "HS256", "typ": "JWT"}, None),
        ({"alg": "HS256"}, None),
        ({"alg": "HS256", "kid": "k"}, (",", ":")),
    ]
)


@claim_checks
@given(
    claims=_claims | _usual_claims,
    header=_headers,
    right_key=st.booleans(),
    bytes_key=st.booleans(),
    leeway=st.sampled_from([0, 0.5, 30, 90]),
    moment=st.sampled_from([0, 0.4999994, 0.5000006, 0.9999996]),
    audience=st.sampled_from([None, "tenant"]),
    issuer=st.sampled_from([None, "tenant"]),
)
def test_verify_agrees_with_pyjwt_decode(
    claim_check: Any,
    claims: dict[str, Any],
    header: tuple[dict[str, Any], Any],
    right_key: bool,
    bytes_key: bool,
    leeway: float,
    moment: float,
    audience: str | None,
    issuer: str | None,
) -> None:
    # Every path of the verifier: the usual headers (not decoded) and others; the usual claims
    # (checked without PyJWT) and any others; str and bytes secrets, right and wrong; times on
    # either side of each boundary, to the microsecond of PyJWT's clock.
    header_fields, separators = header
    token = _sign(header_fields, claims, SECRET if right_key else SECRET[::-1], separators)
    key: str | bytes = SECRET.encode() if bytes_key else SECRET
    verifier = TokenVerifier(("HS256",), REQUIRED, leeway, audience=audience, issuer=issuer)
    with time_machine.travel(NOW + moment, tick=False):
        with mock.patch.object(tokens, "_validate_claims", claim_check):
            ours = _our_outcome(verifier, token, key)
        theirs = _pyjwt_outcome(token, key, audience, leeway=leeway, issuer=issuer)
    if _stricter_than_pyjwt(claims) and right_key:
        # Where the verifier is stricter (see the module docstring), and only there.
        assert ours == "invalid_claim"
    else:
        assert ours == theirs


@claim_checks
@given(
    claims=_usual_claims,
    header=_headers,
    leeway=st.sampled_from([0, 0.5, 30, 90]),
    moment=st.sampled_from([0, 0.4999994, 0.5000006, 0.9999996]),
)
def test_usual_tokens_agree_with_pyjwt_decode(
    claim_check: Any,
    claims: dict[str, Any],
    header: tuple[dict[str, Any], Any],
    leeway: float,
    moment: float,
) -> None:
    # The path of an Authenticator's tokens (the claims checked without PyJWT where they are
    # usual), held to PyJWT's verdict at every boundary of the clock and the leeway.
    token = _sign(header[0], claims, SECRET, header[1])
    verifier = TokenVerifier(("HS256",), REQUIRED, leeway)
    with time_machine.travel(NOW + moment, tick=False):
        with mock.patch.object(tokens, "_validate_claims", claim_check):
            ours = _our_outcome(verifier, token, SECRET)
        theirs = _pyjwt_outcome(token, SECRET, None, leeway=leeway)
    assert ours == ("invalid_claim" if _stricter_than_pyjwt(claims) else theirs)


def _stricter_than_pyjwt(claims: dict[str, Any]) -> bool:
    """Whether the claims miss no required claim but hold a time claim that is no number.

    A NumericDate (RFC 7519 §2) is a JSON number: an int or a float as Python reads JSON, and
    neither NaN, nor an infinity, nor an integer beyond what a double can hold.
    """
    if any(claims.get(name) is None for name in REQUIRED):
        return False
    return any(
        name in claims and not _json_number(claims[name]) for name in ("iat", "nbf", "exp")
    )


def _json_number(value: Any) -> bool:
    if type(value) is int:
        return abs(value) <= sys.float_info.max
    return type(value) is float and math.isfinite(value)


@claim_checks
def test_valid_token_gives_its_claims(claim_check: Any) -> None:
    claims = {"iss": "tenant", "iat": NOW, "exp": NOW + 60, "qsh": "abc", "context": {"a": 1}}
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    with time_machine.travel(NOW, tick=False):
        with mock.patch.object(tokens, "_validate_claims", claim_check):
            verifier = TokenVerifier(("HS256",), REQUIRED, 0)
            assert verifier.verify(token, SECRET) == claims
            assert verifier.verify(parse_token(token), SECRET) == claims


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ({"alg": "HS512"}, "algorithm_not_allowed"),
        ({"alg": "none"}, "algorithm_not_allowed"),
        ({"alg": ["HS256"]}, "algorithm_not_allowed"),
        ({}, "algorithm_not_allowed"),
        ({"alg": "HS256", "kid": 7}, "token_malformed"),
        ({"alg": "HS256", "crit": ["exp"], "exp": 1}, "token_malformed"),
        ({"alg": "HS256", "b64": False, "crit": ["b64"]}, "token_malformed"),
        ({"alg": "HS256", "b64": False}, "token_malformed"),
    ],
)
def test_headers_that_are_refused(header: dict[str, Any], code: str) -> None:
    token = _sign(header, {"iss": "tenant", "iat": NOW, "exp": NOW + 60, "qsh": "abc"}, SECRET)
    with time_machine.travel(NOW, tick=False), pytest.raises(exc.TokenRejectedError) as caught:
        TokenVerifier(("HS256",), REQUIRED, 0).verify(token, SECRET)
    assert caught.value.code == code


def test_b64_true_is_the_default_and_accepted() -> None:
    claims = {"iss": "tenant", "iat": NOW, "exp": NOW + 60, "qsh": "abc"}
    token = jwt.encode(claims, SECRET, algorithm="HS256", headers={"b64": True})
    with time_machine.travel(NOW, tick=False):
        assert TokenVerifier(("HS256",), REQUIRED, 0).verify(token, SECRET) == claims


# Keys: each text or bytes key is prepared by PyJWT once.


@pytest.fixture
def counted_preparations(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record the keys PyJWT's HMAC implementation is asked to prepare."""
    seen: list[Any] = []
    algorithm = tokens._ALGORITHMS["HS256"]
    original = algorithm.prepare_key

    def prepare_key(key: Any) -> Any:
        seen.append(key)
        return original(key)

    # On the verifier's instance only: PyJWT's jwt.encode in the tests has its own.
    monkeypatch.setattr(algorithm, "prepare_key", prepare_key)
    monkeypatch.setattr(tokens, "_prepared", OrderedDict())
    return seen


def test_a_secret_is_prepared_once_for_many_tokens(counted_preparations: list[Any]) -> None:
    verifier = TokenVerifier(("HS256",), REQUIRED, 0)
    secret = "s" * 64
    with time_machine.travel(NOW, tick=False):
        for n in range(5):
            claims = {"iss": "t", "iat": NOW, "exp": NOW + 60, "qsh": str(n)}
            verifier.verify(jwt.encode(claims, secret, algorithm="HS256"), secret)
    assert counted_preparations == [secret]


def test_a_secret_that_pyjwt_refuses_is_refused_every_time(
    counted_preparations: list[Any],
) -> None:
    # A PEM public key as an HMAC secret: PyJWT refuses to prepare it, and nothing is kept.
    pem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQc=\n-----END PUBLIC KEY-----\n"
    token = jwt.encode({"iss": "t"}, SECRET, algorithm="HS256")
    for _ in range(2):
        with pytest.raises(exc.TokenRejectedError) as caught:
            TokenVerifier(("HS256",), REQUIRED, 0).verify(token, pem)
        assert "not usable" in str(caught.value)
    assert counted_preparations == [pem, pem]
    assert not tokens._prepared


def test_prepared_keys_are_bounded_and_the_least_recently_used_is_dropped(
    counted_preparations: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokens, "_MAX_PREPARED", 3)
    verifier = TokenVerifier(("HS256",), REQUIRED, 0)
    secrets = [f"{n:064d}" for n in range(5)]
    with time_machine.travel(NOW, tick=False):
        # 0, 1, 2 fill the cache; 0 is used again; 3 and 4 then drop 1 and 2, not 0.
        for secret in [*secrets[:3], secrets[0], *secrets[3:], secrets[0]]:
            claims = {"iss": "t", "iat": NOW, "exp": NOW + 60, "qsh": "q"}
            verifier.verify(jwt.encode(claims, secret, algorithm="HS256"), secret)
    assert [key for _, key in tokens._prepared] == [secrets[3], secrets[4], secrets[0]]
    # Each secret was prepared once: 0, kept by its use, was never dropped.
    assert counted_preparations == secrets


def test_ten_thousand_tenants_each_prepare_their_secret_once(
    counted_preparations: list[Any],
) -> None:
    # Marketplace apps serve thousands of sites: with the default bound, none of 10,000
    # secrets used in turn, twice over, is prepared again (SECURITY.md says what is kept).
    secrets = [f"{n:064d}" for n in range(10_000)]
    for _ in range(2):
        for secret in secrets:
            sign_hs256({"iss": "app"}, secret)
    assert counted_preparations == secrets


def test_short_secrets_warn_as_pyjwt_warns() -> None:
    short = "too-short"
    claims = {"iss": "t", "iat": NOW, "exp": NOW + 60, "qsh": "q"}
    token = jwt.encode(claims, SECRET, algorithm="HS256")  # signed with another key: refused
    verifier = TokenVerifier(("HS256",), REQUIRED, 0)
    for _ in range(2):  # the second time from the prepared key, which must warn again
        with warnings.catch_warnings(record=True) as theirs:
            warnings.simplefilter("always")
            with pytest.raises(jwt.InvalidSignatureError):
                jwt.decode(token, short, algorithms=["HS256"])
        with warnings.catch_warnings(record=True) as ours:
            warnings.simplefilter("always")
            with pytest.raises(exc.InvalidSignatureError):
                verifier.verify(token, short)
        assert [(w.category, str(w.message)) for w in ours] == [
            (w.category, str(w.message)) for w in theirs
        ]


def test_parsed_token_is_a_named_tuple() -> None:
    parsed = parse_token(jwt.encode({"a": 1}, SECRET, algorithm="HS256"))
    assert isinstance(parsed, ParsedToken)
    header, claims, signing_input, signature = parsed
    assert (header["alg"], claims) == ("HS256", {"a": 1})
    assert signing_input.count(b".") == 1 and len(signature) == 32


# Signing: the same token as jwt.encode, byte for byte.

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)


@given(
    claims=st.dictionaries(st.text(max_size=6), _json_values, max_size=6),
    secret=st.text(min_size=64, max_size=70) | st.binary(min_size=64, max_size=70),
)
def test_sign_hs256_is_jwt_encode(claims: dict[str, Any], secret: str | bytes) -> None:
    try:
        expected: Any = jwt.encode(claims, secret, algorithm="HS256")
    except (TypeError, jwt.InvalidKeyError) as error:
        expected = type(error)
    try:
        ours: Any = sign_hs256(claims, secret)
    except (TypeError, jwt.InvalidKeyError) as error:
        ours = type(error)
    assert ours == expected


def test_sign_hs256_leaves_what_is_not_plain_json_to_jwt_encode() -> None:
    moment = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.timezone.utc)
    token = sign_hs256({"iss": "app", "nbf": moment}, SECRET)
    assert token == jwt.encode({"iss": "app", "nbf": moment}, SECRET, algorithm="HS256")
    assert parse_token(token).claims["nbf"] == int(moment.timestamp())
    with pytest.raises(TypeError):  # not JSON, and no time claim PyJWT converts
        sign_hs256({"iss": "app", "when": moment}, SECRET)
    # A non-text iss: whatever jwt.encode does with it (newer PyJWT refuses it).
    try:
        expected: Any = jwt.encode({"iss": 7}, SECRET, algorithm="HS256")
    except TypeError:
        expected = TypeError
    try:
        ours: Any = sign_hs256({"iss": 7}, SECRET)
    except TypeError:
        ours = TypeError
    assert ours == expected


def test_sign_hs256_refuses_an_asymmetric_key_as_pyjwt_does() -> None:
    pem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQc=\n-----END PUBLIC KEY-----\n"
    with pytest.raises(jwt.InvalidKeyError):
        jwt.encode({"iss": "app"}, pem, algorithm="HS256")
    with pytest.raises(jwt.InvalidKeyError):
        sign_hs256({"iss": "app"}, pem)
