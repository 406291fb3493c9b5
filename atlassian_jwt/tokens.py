"""Finding a token in a request, reading it unverified, and verifying it with PyJWT.

The steps every kind of token shares live here, so that the Connect request authenticator, the
signed-install authenticator and the Forge verifier make the same decisions the same way:

* :func:`token_from_headers` finds ``Authorization: <scheme> <token>``;
* :func:`decode_unverified` reads header and claims *without* checking anything, for routing
  (which secret or key to use) and for diagnostics only;
* :class:`TokenVerifier` checks signature and claims with PyJWT, with the algorithms pinned, the
  required claims listed and the leeway explicit, and turns every failure into a
  :class:`~atlassian_jwt.exceptions.TokenRejectedError`;
* :func:`rejecting_malformed_url` turns a request URL that is not valid text into a
  :class:`~atlassian_jwt.exceptions.MalformedRequestError`, for every verifier alike.

**Time claims are numbers.** ``iat``, ``nbf`` and ``exp`` are NumericDates (RFC 7519 §2): a
JSON number. PyJWT reads them with ``int()``, so it also accepts ``"1700000000"`` and ``true``;
:class:`TokenVerifier` is stricter and rejects any time claim that is not a finite JSON number
(text, a boolean, ``null``, ``NaN``, an infinity, an integer beyond the range of a float) with
:class:`~atlassian_jwt.exceptions.InvalidClaimError`, once the required claims are found
present and before any other check of the claims. Elsewhere it agrees with PyJWT's
``jwt.decode`` on every token (``tests/test_tokens.py`` holds it to that).
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import inspect
import json
import math
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timezone
from types import TracebackType
from typing import Any, NamedTuple, Union

import jwt
from jwt.algorithms import Algorithm, get_default_algorithms
from jwt.utils import base64url_encode

from . import exceptions as exc

__all__ = [
    "DEFAULT_MAX_TOKEN_LENGTH",
    "TIME_CLAIMS",
    "Headers",
    "ParsedToken",
    "TokenVerifier",
    "check_time_claims",
    "decode_unverified",
    "header_value",
    "is_bearer_token",
    "is_numeric_date",
    "parse_token",
    "rejecting_malformed_url",
    "sign_hs256",
    "sign_hs256_payload",
    "token_from_headers",
    "unverified_claims",
    "unverified_header",
]

#: Tokens longer than this (in characters) are refused before any decoding. Connect tokens are
#: a few hundred bytes; Forge invocation tokens a few kilobytes.
DEFAULT_MAX_TOKEN_LENGTH = 8192

#: The claims that hold a time (a NumericDate), in the order PyJWT checks them.
TIME_CLAIMS = ("iat", "nbf", "exp")

#: Request headers: any mapping (a dict, a case-insensitive dict, a framework's header object)
#: or an iterable of ``(name, value)`` pairs, as ASGI gives them.
Headers = Union[Mapping[str, str], Iterable[tuple[Union[str, bytes], Union[str, bytes]]]]


# RFC 6750 section 2.1 b64token: what may follow "Bearer " in a header (a JWT fits).
_BEARER_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def is_bearer_token(value: object) -> bool:
    """Whether ``value`` can be sent as ``Authorization: Bearer <value>``: an RFC 6750
    ``b64token`` (a JWT is one), nothing that could end the header or start another.

    >>> is_bearer_token("eyJhbGciOiJIUzI1NiJ9.e30.c2ln"), is_bearer_token("a b\\r\\nX: y")
    (True, False)
    """
    return isinstance(value, str) and _BEARER_TOKEN.fullmatch(value) is not None


def token_from_headers(headers: Headers | None, scheme: str = "jwt") -> str | None:
    """Return the token of the first ``Authorization: <scheme> <token>`` header, if any.

    The header name and the scheme are case-insensitive. Headers with another scheme are
    ignored, so that the caller can fall back to the ``jwt`` query parameter.

    >>> token_from_headers({'authorization': 'JWT abc.def.ghi'})
    'abc.def.ghi'
    >>> token_from_headers({'Authorization': 'Basic dXNlcjpwYXNz'}) is None
    True
    """
    for value in _header_values(headers, "authorization"):
        parts = value.split()
        if len(parts) == 2 and parts[0].lower() == scheme:
            return parts[1]
    return None


def header_value(headers: Headers | None, name: str) -> str | None:
    """Return the value of the first header called ``name`` (case-insensitive), if any.

    >>> header_value([(b"X-B3-TraceId", b"80f198ee56343ba864fe8b2a57d3eff7")], "x-b3-traceid")
    '80f198ee56343ba864fe8b2a57d3eff7'
    >>> header_value({"x-forge-oauth-user": "abc"}, "x-forge-oauth-system") is None
    True
    """
    values = _header_values(headers, name.lower())
    return values[0] if values else None


def _header_values(headers: Headers | None, wanted: str) -> list[str]:
    """The text values of the headers called ``wanted`` (lower case), in order; bytes decoded
    as latin-1, anything that is not a ``(name, value)`` pair of text or bytes skipped.

    A list, not a generator, and the name checked before the value is decoded: this runs on
    every request.
    """
    found: list[str] = []
    if not headers:
        return found
    # Anything with items() counts as a mapping: werkzeug's Headers, for one, is not registered
    # as a collections.abc.Mapping.
    items = getattr(headers, "items", None)
    pairs: Iterable[Any] = items() if callable(items) else headers
    for pair in pairs:
        try:
            name, value = pair
        except (TypeError, ValueError):
            continue
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if not isinstance(name, str) or name.lower() != wanted:
            continue
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if isinstance(value, str):
            found.append(value)
    return found


class rejecting_malformed_url:  # noqa: N801 - used like a function: ``with rejecting_...():``
    """Turn the ``ValueError`` of a request URL that is not valid text into a rejection.

    Canonicalising a URL with a lone surrogate (or a form body with one) raises
    :class:`ValueError` (see :func:`~atlassian_jwt.url_utils.split_url`); for a verifier that
    is a request it cannot authenticate, so every verifier, and the command line, wraps its
    URL steps in this:

    >>> from atlassian_jwt.url_utils import split_url
    >>> with rejecting_malformed_url():
    ...     split_url("/page\\ud800")
    Traceback (most recent call last):
    ...
    atlassian_jwt.exceptions.MalformedRequestError: The request URL is not valid text

    :raises MalformedRequestError: in place of any :class:`ValueError` raised in the block.
    """

    # A class rather than contextlib.contextmanager: this runs on every request, and a
    # generator-based context manager costs several times more.
    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is not None and issubclass(kind, ValueError):
            raise self.error() from None

    @staticmethod
    def error() -> exc.MalformedRequestError:
        """The rejection raised in place of the ``ValueError``, for an ``except`` clause."""
        return exc.MalformedRequestError("The request URL is not valid text")


class ParsedToken(NamedTuple):
    """A compact JWS decoded once: its parts as the signature covers them. **Unverified.**"""

    #: The JOSE header.
    header: dict[str, Any]
    #: The claims (the payload).
    claims: dict[str, Any]
    #: The bytes the signature covers: the first two segments as they appear in the token.
    signing_input: bytes
    #: The decoded signature.
    signature: bytes


def parse_token(token: str, max_length: int | None = DEFAULT_MAX_TOKEN_LENGTH) -> ParsedToken:
    """Decode a token's three segments once, strictly, **without verifying anything**.

    :class:`TokenVerifier` verifies the result, so that a caller which must read a claim
    before verifying (``iss``, to find the secret) decodes the token only once.

    :param max_length: refuse longer tokens before decoding (``None``: no limit).
    :raises TokenTooLargeError: if the token is longer than ``max_length``.
    :raises MalformedTokenError: if it is not three unpadded base64url segments, each in its
        one canonical spelling, of which the first two are JSON objects.
    """
    if type(token) is str and (max_length is None or len(token) <= max_length) and token.isascii():
        parsed = _parse_usual(token)
        if parsed is not None:
            return parsed
    header_segment, payload_segment, signature_segment = _segments(token, max_length)
    return ParsedToken(
        _json_object(header_segment, "header"),
        _json_object(payload_segment, "payload"),
        token[: len(header_segment) + 1 + len(payload_segment)].encode("ascii"),
        _base64url(signature_segment, "signature"),
    )


def decode_unverified(
    token: str, max_length: int = DEFAULT_MAX_TOKEN_LENGTH
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a token's header and claims **without verifying anything**.

    Use the result only to decide how to verify the token (which issuer, which key) or to
    explain it; never trust it.

    :returns: ``(header, claims)``, both JSON objects.
    :raises TokenTooLargeError: if the token is longer than ``max_length``.
    :raises MalformedTokenError: if it is not three segments of which the first two are
        unpadded base64url (see :func:`parse_token`) of JSON objects.
    """
    header_segment, payload_segment = _segments(token, max_length)[:2]
    return _json_object(header_segment, "header"), _json_object(payload_segment, "payload")


def unverified_claims(token: str, max_length: int = DEFAULT_MAX_TOKEN_LENGTH) -> dict[str, Any]:
    """Read only the claims of a token, **unverified**; see :func:`decode_unverified`."""
    return _json_object(_segments(token, max_length)[1], "payload")


def unverified_header(token: str, max_length: int = DEFAULT_MAX_TOKEN_LENGTH) -> dict[str, Any]:
    """Read only the header of a token, **unverified**; see :func:`decode_unverified`."""
    return _json_object(_segments(token, max_length)[0], "header")


def _segments(token: object, max_length: int | None) -> list[str]:
    if not isinstance(token, str):
        raise exc.MalformedTokenError("The token is not a string")
    if max_length is not None and len(token) > max_length:
        raise exc.TokenTooLargeError(
            f"The token is {len(token)} characters long, more than the {max_length} allowed",
            length=len(token),
            max_length=max_length,
        )
    segments = token.split(".")
    if len(segments) != 3 or not token.isascii():
        raise exc.MalformedTokenError("The token is not three base64url segments")
    return segments


# The base64url alphabet, without padding (RFC 7515 §2); the segments are ASCII (_segments).
_BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
# base64url to base64, for binascii, and back.
_FROM_BASE64URL = bytes.maketrans(b"-_", b"+/")
_TO_BASE64URL = bytes.maketrans(b"+/", b"-_")
# base64url to base64 for binascii's lenient decoder, which skips characters outside the
# alphabet: every character outside base64url ("+", "/" and "=" included) becomes one that it
# skips, so that the decoded length tells whether there was any.
_FROM_BASE64URL_ONLY = bytes.maketrans(
    bytes(range(256)),
    bytes(
        byte if chr(byte) in _BASE64URL_ALPHABET else ord("!")
        for byte in range(256)
    ).translate(_FROM_BASE64URL),
)
# The characters that may end a non-empty segment of each length (mod 4) in its one canonical
# spelling: the bits beyond the last byte zero, as PyJWT's base64url encoding writes them. A
# length of 4n + 1 leaves a character with no whole byte in it: never canonical.
_LAST_CHARACTERS: tuple[frozenset[str] | None, ...] = (
    None,
    frozenset(),
    frozenset("AQgw"),
    frozenset("AEIMQUYcgkosw048"),
)
# The JOSE headers that signers of shared-secret tokens write, by their base64url segment:
# PyJWT's and Atlassian's Java library's, and Atlassian's Node library's. A token with one of
# them needs no header decoded.
_USUAL_HEADERS = {
    _segment: _header
    for _header in ({"alg": "HS256", "typ": "JWT"}, {"typ": "JWT", "alg": "HS256"})
    for _segment in [
        binascii.b2a_base64(json.dumps(_header, separators=(",", ":")).encode(), newline=False)
        .translate(_TO_BASE64URL)
        .rstrip(b"=")
        .decode("ascii")
    ]
}
# What json.loads reads JSON text with (json.loads(text) is decode(text), which is raw_decode
# and a check of what follows): called directly, it spares json.loads two Python calls.
_raw_decode_json = json.JSONDecoder().raw_decode
# What JSON counts as whitespace (RFC 8259 §2), allowed after the value.
_JSON_WHITESPACE = " \t\n\r"


def _parse_usual(token: str) -> ParsedToken | None:
    """:func:`parse_token` for an ASCII token, without its slow steps.

    The header is one of the usual ones, or decoded as :func:`parse_token` decodes it; the
    payload, read as JSON text. ``None`` when a segment is not in its canonical spelling or a
    JSON object, or there are not three: :func:`parse_token` then says which.
    """
    segments = token.split(".")
    if len(segments) != 3:
        return None
    header_segment, payload_segment, signature_segment = segments
    usual = _USUAL_HEADERS.get(header_segment)
    header = dict(usual) if usual is not None else _json_object(header_segment, "header")
    payload = _canonical_base64url(payload_segment)
    signature = _canonical_base64url(signature_segment)
    # json.loads reads bytes starting with "{" and no NUL after it as UTF-8 (RFC 8259 §8.1,
    # json.detect_encoding); the same text, decoded here, saves it the detection.
    if payload is None or signature is None or payload[:1] != b"{" or payload[1:2] == b"\0":
        return None
    try:
        text = payload.decode("utf-8", "surrogatepass")
        claims, end = _raw_decode_json(text)
    except (ValueError, RecursionError):
        return None
    # Nothing but whitespace may follow the value.
    if end != len(text) and text[end:].strip(_JSON_WHITESPACE):
        return None
    # ParsedToken(...) without the Python-level __new__ of a named tuple, as its _make does.
    return tuple.__new__(
        ParsedToken,
        (
            header,
            claims,  # JSON text starting with "{" is an object
            token[: len(header_segment) + 1 + len(payload_segment)].encode("ascii"),
            signature,
        ),
    )


def _canonical_base64url(segment: str) -> bytes | None:
    """Decode an ASCII segment, or ``None`` if it is not canonical unpadded base64url."""
    remainder = len(segment) % 4
    last = _LAST_CHARACTERS[remainder]
    if last is not None and segment[-1] not in last:
        return None
    try:
        decoded = binascii.a2b_base64(
            segment.encode("ascii").translate(_FROM_BASE64URL_ONLY) + b"=" * (-remainder % 4)
        )
    except binascii.Error:  # characters skipped, and the rest no whole number of bytes
        return None
    # Fewer bytes than the characters make: some were skipped, being no base64url.
    return decoded if len(decoded) == len(segment) * 3 // 4 else None


def _base64url(segment: str, what: str) -> bytes:
    # A length of 4n + 1 leaves a character with no whole byte in it.
    if len(segment) % 4 == 1 or not _BASE64URL.fullmatch(segment):
        raise exc.MalformedTokenError(f"The token {what} is not unpadded base64url")
    padded = segment.encode("ascii").translate(_FROM_BASE64URL) + b"=" * (-len(segment) % 4)
    decoded = binascii.a2b_base64(padded)
    # The last character may carry bits beyond the last byte; only the spelling with those bits
    # zero is accepted (as PyJWT accepts it), so that a token has exactly one spelling.
    if binascii.b2a_base64(decoded, newline=False) != padded:
        raise exc.MalformedTokenError(f"The token {what} is not canonical base64url")
    return decoded


def _json_object(segment: str, what: str) -> dict[str, Any]:
    raw = _base64url(segment, what)
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        # ValueError covers invalid JSON and invalid UTF-8; RecursionError, deeply nested JSON.
        raise exc.MalformedTokenError(f"The token {what} is not base64url-encoded JSON") from None
    if not isinstance(value, dict):
        raise exc.MalformedTokenError(f"The token {what} is not a JSON object")
    return value


# PyJWT's claim errors, most specific first, and the rejection each becomes.
_TRANSLATIONS: tuple[tuple[type[Exception], type[exc.TokenRejectedError], str], ...] = (
    (jwt.ExpiredSignatureError, exc.TokenExpiredError, "The token has expired"),
    (jwt.ImmatureSignatureError, exc.TokenNotYetValidError, "The token is not yet valid"),
    (jwt.InvalidAudienceError, exc.InvalidAudienceError, "The token's audience is not this app"),
    (jwt.InvalidIssuerError, exc.InvalidIssuerError, "The token's issuer is not the expected one"),
)
# PyJWT's errors about one claim's type, and the claim each is about.
_CLAIM_TYPE_ERRORS: tuple[tuple[type[Exception], str, str], ...] = (
    (jwt.InvalidIssuedAtError, "iat", 'The "iat" claim is not an integer'),
    (jwt.exceptions.InvalidSubjectError, "sub", 'The "sub" claim is not a string'),
    (jwt.exceptions.InvalidJTIError, "jti", 'The "jti" claim is not a string'),
)


def is_numeric_date(value: object) -> bool:
    """Whether ``value`` is a NumericDate as a time claim must be: a finite JSON number.

    Not text, not a boolean (which Python counts as an integer), not ``NaN`` or an infinity,
    and not an integer too large for a float (no clock or store can use it).

    >>> [is_numeric_date(v) for v in (1700000000, 1.7e9, "1700000000", True, float("nan"))]
    [True, True, False, False, False]
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond the range of a float
        return False


def check_time_claims(claims: Mapping[str, Any]) -> None:
    """Reject claims whose ``iat``, ``nbf`` or ``exp`` is present but no NumericDate.

    :raises InvalidClaimError: naming the first such claim.
    """
    for name in TIME_CLAIMS:
        if name in claims and not is_numeric_date(claims[name]):
            raise exc.InvalidClaimError(f'The "{name}" claim is not a number', claim=name)


def sign_hs256(claims: dict[str, Any], secret: str | bytes) -> str:
    """Return ``jwt.encode(claims, secret, algorithm="HS256")``, the same token byte for byte.

    PyJWT's HS256 implementation makes the signature; the secret is prepared by PyJWT once per
    secret rather than on every call (see :class:`TokenVerifier`). Claims that are not plain
    JSON (a ``datetime`` ``nbf``, say) or a non-text ``iss`` go to ``jwt.encode`` itself,
    which converts or refuses them as it always does.
    """
    if not isinstance(claims.get("iss", ""), str):
        return jwt.encode(claims, secret, algorithm="HS256")
    try:
        # json.dumps(claims, separators=(",", ":")), as jwt.encode writes the payload.
        payload = _json_compact(claims).encode()
    except (TypeError, ValueError):  # not JSON as it is; ValueError: a circular reference
        return jwt.encode(claims, secret, algorithm="HS256")
    return sign_hs256_payload(payload, secret)


def sign_hs256_payload(payload: bytes, secret: str | bytes) -> str:
    """Sign a payload that is already the JSON text ``jwt.encode`` writes, as it signs it.

    For a caller that writes its claims' JSON itself: ``json.dumps(claims, separators=(",",
    ":"))``, ASCII, encoded. The header, the signature and the secret's preparation are
    :func:`sign_hs256`'s.

    :raises jwt.InvalidKeyError: if PyJWT refuses the secret (a PEM key, say).
    """
    signing_input = b"%s.%s" % (_HS256_HEADER, _base64url_encode(payload))
    mac = _keyed_hs256(secret).copy()
    mac.update(signing_input)
    return (b"%s.%s" % (signing_input, _base64url_encode(mac.digest()))).decode("ascii")


class TokenVerifier:
    """Verify signature and claims of a token with PyJWT, with everything pinned up front.

    The token is decoded once, by :func:`parse_token` (or by the caller, who passes the
    :class:`ParsedToken`); the signature is checked by PyJWT's own implementation of the
    algorithm, and the claims by PyJWT's own claim validation, so that nothing is decoded
    twice and no cryptography or claim rule is written here but one: time claims must be
    numbers (see the module's docstring).

    :meth:`verify` runs :meth:`check_signature`, then :meth:`check_claims`; both are public
    so that :mod:`atlassian_jwt.explain` applies the very same rules, one at a time.

    :param algorithms: the only algorithms accepted; never read from the token.
    :param required: claims that must be present (and not ``null``).
    :param leeway: seconds of clock skew allowed for ``exp``, ``nbf`` and ``iat``.
    :param audience: if given, ``aud`` must equal or contain it (or one of them).
    :param issuer: if given, ``iss`` must equal it.
    """

    def __init__(
        self,
        algorithms: Collection[str],
        required: Iterable[str],
        leeway: float,
        *,
        audience: str | Iterable[str] | None = None,
        issuer: str | None = None,
    ) -> None:
        if isinstance(algorithms, str) or not algorithms or "none" in algorithms:
            raise ValueError("algorithms must be a non-empty collection of names, never 'none'")
        if leeway < 0:
            raise ValueError("leeway must not be negative")
        #: The pinned algorithms.
        self.algorithms = list(algorithms)
        #: The claims that must be present.
        self.required = tuple(required)
        #: Seconds of clock skew allowed.
        self.leeway = leeway
        #: What ``aud`` must name, or ``None`` (then ``aud`` is not checked).
        self.audience = (
            audience if audience is None or isinstance(audience, str) else list(audience)
        )
        #: What ``iss`` must be, or ``None`` (then ``iss`` is not checked).
        self.issuer = issuer
        # PyJWT's implementations of the pinned algorithms (RS256 only with cryptography).
        self._implementations = {
            name: _ALGORITHMS[name] for name in self.algorithms if name in _ALGORITHMS
        }
        # Options merged once here rather than on every decode.
        self._jwt = jwt.PyJWT(
            options={"require": list(self.required), "verify_aud": audience is not None}
        )
        # Whether check_claims may check the usual claims itself (see _check_usual_claims).
        self._usual_claims = audience is None and issuer is None

    def verify(self, token: str | ParsedToken, key: Any) -> dict[str, Any]:
        """Return the claims of ``token`` once its signature and claims check out.

        :param token: the token, or what :func:`parse_token` made of it.
        :param key: the HMAC secret, or the public key object, for the token's algorithm.
        :raises TokenRejectedError: (a subclass of it) for every failure; a failure of the
            claims, found once the signature has verified, has ``signature_verified`` set.
        """
        parsed = token if isinstance(token, ParsedToken) else parse_token(token, None)
        self.check_signature(parsed, key)
        try:
            self.check_claims(parsed.claims)
        except exc.TokenRejectedError as error:
            error.signature_verified = True
            raise
        return parsed.claims

    def check_header(self, header: Mapping[str, Any]) -> str:
        """Check what a JOSE header may hold; return its algorithm, one of the pinned ones.

        :raises MalformedTokenError: for a critical extension, ``b64: false`` or a ``kid``
            that is not text.
        :raises AlgorithmNotAllowedError: if ``alg`` is not one of the pinned algorithms.
        """
        # What PyJWT checks of the header, and stricter: no extension is understood here, so
        # a token that lists one as critical (RFC 7515 §4.1.11) is refused, as is b64=false.
        if "crit" in header or header.get("b64", True) is not True:
            raise exc.MalformedTokenError("The token needs a JWS extension this app does not use")
        if not isinstance(header.get("kid", ""), str):
            raise exc.MalformedTokenError("The token's kid is not a string")
        name = header.get("alg")
        if not isinstance(name, str) or name not in self._implementations:
            raise exc.AlgorithmNotAllowedError("The token's algorithm is not allowed")
        return name

    def check_signature(self, parsed: ParsedToken, key: Any) -> None:
        """Check the header (:meth:`check_header`) and the signature, and nothing else.

        :param key: the HMAC secret, or the public key object, for the token's algorithm.
        :raises TokenRejectedError: (a subclass of it) if the header is refused, the key is not
            usable for the algorithm, or the signature does not verify
            (:class:`~atlassian_jwt.exceptions.InvalidSignatureError`).
        """
        name = self.check_header(parsed.header)
        try:
            if name == "HS256" and isinstance(key, (str, bytes)):
                valid = _hs256_valid(parsed.signing_input, key, parsed.signature)
            else:
                prepared = _prepared_key(name, key)
                valid = self._implementations[name].verify(
                    parsed.signing_input, prepared, parsed.signature
                )
        except (jwt.InvalidKeyError, TypeError, ValueError):
            raise exc.TokenRejectedError("The key for this token is not usable") from None
        if not valid:
            raise exc.InvalidSignatureError("The token's signature is invalid")

    def check_claims(self, claims: dict[str, Any]) -> None:
        """Check claims as :meth:`verify` does once the signature has verified.

        The required claims must be present (not ``null``), as PyJWT has it; then the time
        claims must be numbers; then PyJWT checks ``iat``, ``nbf`` and ``exp`` (with the
        leeway), ``iss``, ``aud``, ``sub`` and ``jti``. The first failure is raised.

        .. warning:: Claims that no signature vouches for prove nothing, whatever this says of
           them: use it on its own only to explain a token, never to accept one.

        :raises TokenRejectedError: (a subclass of it) for the first failure.
        """
        # PyJWT's own first check, made here too so that the time claims come right after it
        # whatever PyJWT makes of them (it reads "1700000000" or true as a time).
        for name in self.required:
            if claims.get(name) is None:
                raise exc.MissingClaimError(name)
        if self._usual_claims and _check_usual_claims(claims, self.leeway):
            return
        check_time_claims(claims)
        try:
            _validate_claims(
                self._jwt,
                claims,
                self._jwt.options,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
            )
        except jwt.MissingRequiredClaimError as error:
            raise exc.MissingClaimError(error.claim) from None
        except (jwt.PyJWTError, TypeError, ValueError, OverflowError) as error:
            raise _translate(error) from None


def _translate(error: Exception) -> exc.TokenRejectedError:
    for pyjwt_type, our_type, message in _TRANSLATIONS:
        if isinstance(error, pyjwt_type):
            return our_type(message)
    for pyjwt_type, claim, message in _CLAIM_TYPE_ERRORS:
        if isinstance(error, pyjwt_type):
            return exc.InvalidClaimError(message, claim=claim)
    if isinstance(error, jwt.PyJWTError):
        return exc.MalformedTokenError("The token could not be decoded")
    # Claims of the wrong type can surface from PyJWT's claim checks as TypeError and the
    # like, naming no claim; to the caller they are one more invalid token.
    return exc.InvalidClaimError("A claim has a value of the wrong type", claim=None)


# Claims beyond these (in absolute value) are left to PyJWT: whole seconds that every float
# holds exactly, and a clock holds for millions of years.
_USUAL_TIME = 2**53
# Stand-ins for a time claim that is absent, which no check of it refuses.
_NO_IAT_OR_NBF = -_USUAL_TIME
_NO_EXP = _USUAL_TIME


def _check_usual_claims(claims: Mapping[str, Any], leeway: float) -> bool:
    """Check the usual claims as PyJWT's claim validation does; whether they were usual.

    For a verifier that checks neither ``aud`` nor ``iss``, once the required claims are found:
    ``iat``, ``nbf`` and ``exp`` absent or whole seconds (JSON integers), ``sub`` and ``jti``
    absent or text. PyJWT (2.10 to 2.15, alike) then checks only the times, in this order,
    against the same clock reading; anything else, ``False``, is left to it.

    :raises TokenNotYetValidError: if ``iat`` or ``nbf`` is later than now plus the leeway.
    :raises TokenExpiredError: if ``exp`` is now minus the leeway, or earlier.
    """
    iat = claims.get("iat", _NO_IAT_OR_NBF)
    nbf = claims.get("nbf", _NO_IAT_OR_NBF)
    exp = claims.get("exp", _NO_EXP)
    if not (
        type(iat) is int
        and type(nbf) is int
        and type(exp) is int
        and type(claims.get("sub", "")) is str
        and type(claims.get("jti", "")) is str
        and -_USUAL_TIME <= iat <= _USUAL_TIME
        and -_USUAL_TIME <= nbf <= _USUAL_TIME
        and -_USUAL_TIME <= exp <= _USUAL_TIME
    ):
        return False
    # PyJWT's clock, datetime.now(tz=timezone.utc).timestamp(): the system time to the
    # microsecond. (The zone passed by position, which costs less; datetime looked up here,
    # not bound once, so that a test's freezegun, which replaces it, sets this clock too.)
    now = datetime.now(timezone.utc).timestamp()
    if iat > now + leeway or nbf > now + leeway:
        raise exc.TokenNotYetValidError("The token is not yet valid")
    if exp <= now - leeway:
        raise exc.TokenExpiredError("The token has expired")
    return True


#: PyJWT's implementations of the algorithms, by name.
_ALGORITHMS: dict[str, Algorithm] = get_default_algorithms()

# The header jwt.encode writes for HS256, encoded.
_HS256_HEADER = base64url_encode(b'{"alg":"HS256","typ":"JWT"}')
# json.dumps(..., separators=(",", ":")) without building an encoder on every call.
_json_compact = json.JSONEncoder(separators=(",", ":")).encode


def _base64url_encode(data: bytes) -> bytes:
    """PyJWT's ``base64url_encode``: base64url without padding."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_BASE64URL).rstrip(b"=")


def _has_claim_validation() -> bool:
    """Whether this PyJWT validates claims apart from decoding, as 2.10 to 2.15 do."""
    method = getattr(jwt.PyJWT, "_validate_claims", None)
    try:
        parameters = inspect.signature(method).parameters  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return {"payload", "options", "audience", "issuer", "leeway"} <= set(parameters)


def _validate_claims_by_decoding(
    decoder: jwt.PyJWT, claims: dict[str, Any], options: Any, **checks: Any
) -> None:
    # For a PyJWT whose claim validation cannot be called alone: decode an unsigned token of
    # the same claims, which runs the same validation (the signature was checked already).
    header, payload = (json.dumps(part).encode() for part in ({"alg": "none"}, claims))
    token = b".".join([base64url_encode(header), base64url_encode(payload), b""])
    unsigned: Any = {**options, "verify_signature": False}
    decoder.decode(token, options=unsigned, **checks)


# PyJWT's own claim validation, called without the decode around it: the signature was checked
# and the token decoded once already.
_validate_claims: Any = (
    jwt.PyJWT._validate_claims  # noqa: SLF001 - the one private PyJWT API used; see above
    if _has_claim_validation()
    else _validate_claims_by_decoding
)


# Keys that PyJWT's prepare_key accepted, with its warning about their length if any, and for
# an HS256 secret its keyed HMAC-SHA256 state: text and bytes keys (shared secrets, PEM) by
# algorithm and value. Preparing an HMAC key checks that it is no asymmetric key or
# certificate, which costs more than verifying a token's signature, and keying HMAC costs a
# third of it: each tenant's secret is prepared once, not on every request. At most
# _MAX_PREPARED keys are kept (an app with more active tenants prepares some again); the least
# recently used is dropped first. An entry holds the secret and its keyed state (about 1 KB).
_prepared: OrderedDict[tuple[str, str | bytes], tuple[Any, str | None, Any]] = OrderedDict()
_prepared_lock = threading.Lock()
_MAX_PREPARED = 16_384


def _prepared_entry(name: str, key: str | bytes) -> tuple[Any, str | None, Any]:
    """The cache entry of a text or bytes key: prepared key, length warning, keyed HS256."""
    entry = _prepared.get((name, key))
    if entry is None:
        algorithm = _ALGORITHMS[name]
        prepared = algorithm.prepare_key(key)
        keyed = _keyed_state(prepared) if name == "HS256" else None
        entry = (prepared, _key_length_warning(algorithm, prepared), keyed)
        with _prepared_lock:
            while len(_prepared) >= _MAX_PREPARED:
                _prepared.popitem(last=False)
            _prepared[(name, key)] = entry
    else:
        try:
            _prepared.move_to_end((name, key))
        except KeyError:  # dropped by another thread meanwhile: it is still usable here
            pass
    if entry[1]:
        # What PyJWT warns of every key shorter than its hash (from PyJWT 2.11 on).
        warnings.warn(entry[1], jwt.warnings.InsecureKeyLengthWarning, stacklevel=5)
    return entry


def _keyed_state(prepared: bytes) -> Any:
    """HMAC-SHA256 keyed with ``prepared``: an object with ``copy``, ``update`` and ``digest``.

    The state :func:`hmac.new` keeps when OpenSSL computes the HMAC (its ``_hmac``, where the
    Python has one), whose three methods are C: the ``hmac.HMAC`` around it adds a Python call
    to each, a quarter of the time the three take. Otherwise, the ``hmac.HMAC`` itself.
    """
    keyed = hmac.new(prepared, digestmod=hashlib.sha256)
    inner = getattr(keyed, "_hmac", None)
    return inner if inner is not None else keyed


def _prepared_key(name: str, key: Any) -> Any:
    """Return PyJWT's ``prepare_key(key)`` for algorithm ``name``, once per text or bytes key."""
    if not isinstance(key, (str, bytes)):
        # A key object (an RSA public key): PyJWT's preparation only checks its type.
        return _ALGORITHMS[name].prepare_key(key)
    return _prepared_entry(name, key)[0]


def _hs256_valid(signing_input: bytes, secret: str | bytes, signature: bytes) -> bool:
    """What PyJWT's HS256 ``verify`` answers, from the secret's keyed HMAC state.

    :raises jwt.InvalidKeyError: if PyJWT refuses the secret.
    """
    mac = _prepared_entry("HS256", secret)[2].copy()
    mac.update(signing_input)
    return hmac.compare_digest(signature, mac.digest())


def _keyed_hs256(secret: str | bytes) -> Any:
    """HMAC-SHA256 keyed with PyJWT's ``prepare_key(secret)``, to be copied for each message.

    :raises jwt.InvalidKeyError: if PyJWT refuses the secret (a PEM key, say).
    """
    return _prepared_entry("HS256", secret)[2]


def _key_length_warning(algorithm: Algorithm, prepared: Any) -> str | None:
    check = getattr(algorithm, "check_key_length", None)
    message: str | None = check(prepared) if check is not None else None
    return message
