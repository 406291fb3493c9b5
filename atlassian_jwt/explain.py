"""Why a token is (or is not) accepted for a request: each check, its verdict, the likely cause.

:func:`explain_token` reads a token (**unverified**), recognises its kind (:func:`token_kind`)
and applies the rules of the verifier of that kind, taken from the verifier itself: its pinned
algorithms, its required claims, its leeway (:class:`Rules`), checked by the same
:class:`~atlassian_jwt.tokens.TokenVerifier` steps, in the verifier's order. It returns an
:class:`Explanation`: one :class:`Check` per step, the ``qsh`` comparison with the diagnoses of
:func:`~atlassian_jwt.diagnose.diagnose_qsh`, the likely causes of a failure, and a verdict.

Given an :class:`~atlassian_jwt.Authenticator` (that is, the shared secret), the verdict is the
``Authenticator``'s own: it runs ``authenticate`` on the request, and reads from the rejection
whether the signature had verified
(:attr:`~atlassian_jwt.exceptions.TokenRejectedError.signature_verified`). Without one, the
signature is not checked, and the verdict is the first check that fails.

>>> import hashlib, jwt
>>> qsh = hashlib.sha256(b"GET&/wiki/rest/api/space&").hexdigest()  # /wiki not removed
>>> token = jwt.encode({"iss": "tenant", "iat": 1, "exp": 4102444800, "qsh": qsh},
...                    "s" * 32, algorithm="HS256")
>>> explanation = explain_token("GET", "/wiki/rest/api/space", token, base_url="/wiki")
>>> [(check.name, check.status) for check in explanation.checks]  # doctest: +NORMALIZE_WHITESPACE
[('algorithm', 'ok'), ('claims', 'ok'), ('exp', 'ok'), ('iat', 'ok'),
 ('signature', 'skipped'), ('qsh', 'fail')]
>>> explanation.qsh.diagnoses[0].codes
('base_path_not_removed',)
>>> explanation.verdict.code
'qsh_mismatch'

.. warning:: Without a secret nothing here is verified: an explanation says what a verifier
   would check, never that a token is genuine.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from . import exceptions as exc
from ._extras import install_hint
from .authenticate import (
    CONTEXT_QSH,
    DEFAULT_ALGORITHMS,
    DEFAULT_LEEWAY,
    HMAC_ALGORITHMS,
    REQUIRED_CLAIMS,
    Authenticator,
    check_qsh,
    unverified_client_key,
)
from .diagnose import Diagnosis, diagnose_qsh
from .forge import (
    DEFAULT_EXPIRY_MARGIN,
    DEFAULT_FORGE_LEEWAY,
    DEFAULT_MAX_FIT_LENGTH,
    FORGE_ALGORITHMS,
    FORGE_ISSUER,
    FORGE_REQUIRED_CLAIMS,
    SYSTEM_TOKEN_HEADER,
    USER_TOKEN_HEADER,
    ForgeContext,
    ForgeInvocation,
    ForgeToken,
)
from .install import DEFAULT_INSTALL_LEEWAY, INSTALL_ALGORITHMS, INSTALL_REQUIRED_CLAIMS
from .tokens import (
    DEFAULT_MAX_TOKEN_LENGTH,
    TIME_CLAIMS,
    Headers,
    ParsedToken,
    TokenVerifier,
    header_value,
    is_numeric_date,
    parse_token,
    rejecting_malformed_url,
)
from .url_utils import canonicalize_request, qsh_of

__all__ = [
    "Cause",
    "Check",
    "Explanation",
    "ForgeFacts",
    "ForgeTokenFacts",
    "QshReport",
    "Rules",
    "TimeFacts",
    "TokenKind",
    "Verdict",
    "explain_token",
    "forge_facts",
    "rules_for",
    "time_facts",
    "token_kind",
]


@dataclass(frozen=True)
class TokenKind:
    """What a token is, recognised from its **unverified** header and claims."""

    #: ``"request"``, ``"context"``, ``"install"``, ``"forge"`` or ``"unknown"``.
    name: str
    #: The kind in words, with its algorithm.
    description: str


@dataclass(frozen=True)
class Rules:
    """What the verifier of a kind of token requires, read from that verifier."""

    #: The verifier: ``"Authenticator"``, ``"InstallAuthenticator"`` or
    #: ``"ForgeInvocationVerifier"``.
    verifier: str
    #: The algorithms it is pinned to.
    algorithms: tuple[str, ...]
    #: The claims it requires.
    required_claims: tuple[str, ...]
    #: The clock skew it allows, in seconds.
    leeway: float
    #: The longest token it accepts, in characters.
    max_token_length: int


@dataclass(frozen=True)
class Check:
    """One check and its outcome."""

    #: ``"algorithm"``, ``"claims"``, ``"exp"``, ``"iat"``, ``"nbf"``, ``"signature"``,
    #: ``"qsh"`` or, for a Forge invocation token given with its request's headers,
    #: ``"context"``.
    name: str
    #: ``"ok"``, ``"fail"`` or ``"skipped"``.
    status: str
    #: What was found, in words.
    detail: str
    #: The rejection code of a failure (or of what stopped a skipped check); else ``None``.
    code: str | None = None


@dataclass(frozen=True)
class QshReport:
    """The token's ``qsh`` next to the hash of the request's canonical request."""

    #: The canonical request computed for the request.
    canonical_request: str
    #: Its hash: the ``qsh`` the token should carry.
    expected_qsh: str
    #: The token's ``qsh`` (any JSON value: it is unverified).
    token_qsh: Any
    #: The usual mistakes whose hash is the token's ``qsh`` (empty if it matches, or if none
    #: does).
    diagnoses: tuple[Diagnosis, ...]


@dataclass(frozen=True)
class Cause:
    """A likely cause of the failure, beyond the checks themselves."""

    #: A stable identifier, e.g. ``"secret_has_whitespace"``.
    code: str
    #: The cause in words.
    description: str


@dataclass(frozen=True)
class Verdict:
    """Whether the token would be accepted, and if not, the rejection."""

    #: The rejection code, or ``None`` if every check that ran passed.
    code: str | None
    #: The rejection in words, or ``None``.
    message: str | None

    @property
    def valid(self) -> bool:
        """Whether every check that ran passed (with no secret, not the signature)."""
        return self.code is None


@dataclass(frozen=True)
class ForgeTokenFacts:
    """One ``x-forge-oauth-*`` header of a Forge call: whether it came, and when it expires.

    The token is a bearer credential for Atlassian's API: nothing here holds or shows it.
    """

    #: The header: ``x-forge-oauth-system`` (the app's token) or ``x-forge-oauth-user``.
    header: str
    #: Whether the request carried it.
    present: bool
    #: Its ``exp``, readable, read **unverified** (the token is Atlassian's to check); ``None``
    #: when it is absent or its ``exp`` cannot be read.
    expiry: TimeFacts | None
    #: Whether ``ForgeAuth`` would send it now: a bearer token that has not expired and does
    #: not expire within :data:`~atlassian_jwt.forge.invocation.DEFAULT_EXPIRY_MARGIN` seconds.
    sendable: bool
    #: What was found, in words (never the token).
    detail: str


@dataclass(frozen=True)
class ForgeFacts:
    """What a Forge invocation token and its request's headers say, for a reader."""

    #: The context the claims name: verified if, and only if, the token was.
    context: ForgeContext
    #: The ``x-forge-oauth-system`` and ``x-forge-oauth-user`` headers, in that order; empty
    #: when the request's headers were not given.
    tokens: tuple[ForgeTokenFacts, ...]


@dataclass(frozen=True)
class Explanation:
    """What :func:`explain_token` found."""

    #: The kind of token.
    kind: TokenKind
    #: The rules of its verifier, as applied.
    rules: Rules
    #: The JOSE header, **unverified**.
    header: dict[str, Any]
    #: The claims, **unverified** unless :attr:`signature_verified`.
    claims: dict[str, Any]
    #: Every check, in the order shown.
    checks: tuple[Check, ...]
    #: The ``qsh`` comparison, or ``None`` when the token carries none or needs none.
    qsh: QshReport | None
    #: Likely causes of the failure (a secret with a stray quote, another tenant's secret).
    causes: tuple[Cause, ...]
    #: The verdict.
    verdict: Verdict
    #: For a Forge invocation token: its context and, given the headers, its OAuth tokens'
    #: expiry; else ``None``.
    forge: ForgeFacts | None = None

    @property
    def signature_verified(self) -> bool:
        """Whether the signature was checked, and verified."""
        return any(c.name == "signature" and c.status == "ok" for c in self.checks)


@dataclass(frozen=True)
class TimeFacts:
    """A time claim, readable: in UTC and relative to now."""

    #: The claim's value, as the token has it.
    value: Any
    #: The time in UTC (``2026-11-29T04:15:16Z``), or ``None`` if it is no time.
    utc: str | None
    #: Relative to now (``expired 4 min ago``), or why it is no time (``not a number``).
    relative: str
    #: Seconds from now (negative: past), or ``None`` if it is not a number.
    seconds_from_now: float | None


_HASH = re.compile(r"[0-9a-f]{64}")


def token_kind(header: dict[str, Any], claims: dict[str, Any]) -> TokenKind:
    """Recognise a token from its **unverified** header and claims.

    >>> token_kind({"alg": "HS256"}, {"qsh": "context-qsh"}).name
    'context'
    """
    alg = header.get("alg")
    qsh = claims.get("qsh")
    hashed = isinstance(qsh, str) and bool(_HASH.fullmatch(qsh))
    if claims.get("iss") == FORGE_ISSUER:
        return TokenKind("forge", f"Forge invocation token ({alg}, issued by Forge, no qsh)")
    if alg in HMAC_ALGORITHMS and qsh == CONTEXT_QSH:
        return TokenKind(
            "context",
            f"context token ({alg}, qsh context-qsh: from AP.context.getToken(), bound to no "
            "request)",
        )
    if alg in INSTALL_ALGORITHMS and "kid" in header and hashed:
        return TokenKind(
            "install", "install token (RS256 with kid: a signed install/uninstall callback)"
        )
    if alg in HMAC_ALGORITHMS and hashed:
        return TokenKind("request", f"request token ({alg}, bound to one request by its qsh)")
    if qsh is None:
        return TokenKind("unknown", f"unknown kind ({alg}, no qsh claim)")
    return TokenKind(
        "unknown", f"unknown kind ({alg}, qsh is neither a request hash nor context-qsh)"
    )


def time_facts(name: str, value: Any, now: float | None = None) -> TimeFacts:
    """Describe the time claim ``name`` (``iat``, ``nbf`` or ``exp``): UTC, relative to now.

    >>> time_facts("exp", 1_000_000_240, now=1_000_000_000).relative
    'expires in 4 min'
    """
    now = time.time() if now is None else now
    if not is_numeric_date(value):
        return TimeFacts(value, None, "not a number", None)
    delta = value - now
    try:
        moment = datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return TimeFacts(value, None, "out of range", delta)
    span = _span(delta)
    relative = {
        "exp": (f"expires in {span}", f"expired {span} ago"),
        "iat": (f"issued {span} in the future", f"issued {span} ago"),
        "nbf": (f"not valid for another {span}", f"valid since {span} ago"),
    }[name][0 if delta > 0 else 1]
    return TimeFacts(value, moment.strftime("%Y-%m-%dT%H:%M:%SZ"), relative, round(delta, 3))


def _span(seconds: float) -> str:
    """Say how long ``seconds`` is, in the largest unit that keeps it readable."""
    seconds = abs(seconds)
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 1.5 * size:
            return f"{round(seconds / size)} {unit}"
    return f"{round(seconds)} s"


# The manifest option that makes Forge send each token, for the reader of a request without it.
_TOKEN_OPTIONS = {SYSTEM_TOKEN_HEADER: "appSystemToken", USER_TOKEN_HEADER: "appUserToken"}


def forge_facts(
    claims: Mapping[str, Any], headers: Headers | None = None, *, now: float | None = None
) -> ForgeFacts:
    """Describe a Forge invocation: the context its claims name and, given its request's
    headers, the ``x-forge-oauth-*`` tokens that came with it and when they expire.

    :param claims: the token's claims (verified, or not: the facts are what they say).
    :param headers: the request's headers; ``None`` when they are not known.
    :param now: the time, in seconds since the epoch; the current time by default.

    .. warning:: Nothing is verified here. Each token's expiry is read from its ``exp``
       without checking it, as :class:`~atlassian_jwt.ForgeToken` reads it.
    """
    now = time.time() if now is None else now
    tokens: tuple[ForgeTokenFacts, ...] = ()
    if headers is not None:
        tokens = tuple(
            _forge_token_facts(name, header_value(headers, name), now)
            for name in (SYSTEM_TOKEN_HEADER, USER_TOKEN_HEADER)
        )
    return ForgeFacts(ForgeContext.from_claims(claims), tokens)


def _forge_token_facts(header: str, value: str | None, now: float) -> ForgeTokenFacts:
    if value is None or not value.strip():
        detail = f"not sent (the endpoint's auth does not ask for {_TOKEN_OPTIONS[header]})"
        return ForgeTokenFacts(header, False, None, False, detail)
    try:
        token = ForgeToken.from_header(value.strip(), max_length=DEFAULT_MAX_FIT_LENGTH)
    except ValueError:
        detail = (
            "not a bearer token: verify_request refuses the call "
            f"({exc.ForgeContextInvalidError.code})"
        )
        return ForgeTokenFacts(header, True, None, False, detail)
    if token.expires_at is None:
        detail = "expiry unknown: its exp cannot be read (the product will say)"
        return ForgeTokenFacts(header, True, None, True, detail)
    expiry = time_facts("exp", token.expires_at.timestamp(), now)
    detail = f"{expiry.relative} ({expiry.utc})"
    sendable = not token.expired(now=now)
    if not sendable:
        detail += (
            f": ForgeAuth will not send it (expired, or expiring within "
            f"{DEFAULT_EXPIRY_MARGIN:g} s)"
        )
    return ForgeTokenFacts(header, True, expiry, sendable, detail)


def rules_for(
    kind: TokenKind, authenticator: Authenticator | None = None, leeway: float | None = None
) -> Rules:
    """The rules of the verifier of ``kind``: ``authenticator``'s for Connect tokens if given,
    else each verifier's defaults; ``leeway`` replaces the leeway."""
    if kind.name == "install":
        return Rules(
            "InstallAuthenticator",
            INSTALL_ALGORITHMS,
            INSTALL_REQUIRED_CLAIMS,
            DEFAULT_INSTALL_LEEWAY if leeway is None else leeway,
            DEFAULT_MAX_TOKEN_LENGTH,
        )
    if kind.name == "forge":
        return Rules(
            "ForgeInvocationVerifier",
            FORGE_ALGORITHMS,
            FORGE_REQUIRED_CLAIMS,
            DEFAULT_FORGE_LEEWAY if leeway is None else leeway,
            DEFAULT_MAX_FIT_LENGTH,
        )
    if authenticator is not None:
        return Rules(
            "Authenticator",
            authenticator.algorithms,
            REQUIRED_CLAIMS,
            authenticator.leeway if leeway is None else leeway,
            authenticator.max_token_length,
        )
    return Rules(
        "Authenticator",
        DEFAULT_ALGORITHMS,
        REQUIRED_CLAIMS,
        DEFAULT_LEEWAY if leeway is None else leeway,
        DEFAULT_MAX_TOKEN_LENGTH,
    )


def explain_token(
    http_method: str,
    url: str,
    token: str,
    *,
    authenticator: Authenticator | None = None,
    base_url: str | None = None,
    body: str | None = None,
    body_hashed: bool = False,
    allow_context_qsh: bool = False,
    leeway: float | None = None,
    headers: Headers | None = None,
) -> Explanation:
    """Check ``token`` for the request ``http_method url`` step by step, and say why it fails.

    :param http_method: the request's method.
    :param url: the request URL as received (raw path and query), absolute or relative.
    :param token: the token.
    :param authenticator: checks the signature of a Connect (HS256) token: the verdict is then
        its ``authenticate``'s. Without it the signature is not checked.
    :param base_url: the base URL (or path) removed from the path before hashing; by default
        ``authenticator``'s.
    :param body: the request's form-encoded body, if it has one.
    :param body_hashed: whether the route hashes ``body`` with the query (``body_params``,
        ``include_form_body=True``); otherwise a signer that hashed it is the mistake looked
        for.
    :param allow_context_qsh: whether the route accepts context tokens.
    :param leeway: the clock skew allowed, in seconds; by default the verifier's.
    :param headers: the request's headers, for a Forge invocation token: then the context the
        remote contract requires is checked as
        :meth:`~atlassian_jwt.ForgeInvocationVerifier.verify_request` checks it (a
        ``"context"`` check), and :attr:`Explanation.forge` says when the ``x-forge-oauth-*``
        tokens expire. Without them a Forge token is checked as
        :meth:`~atlassian_jwt.ForgeInvocationVerifier.verify` checks it.
    :returns: the :class:`Explanation`.
    :raises TokenTooLargeError: if the token is longer than its kind's verifier accepts.
    :raises MalformedTokenError: if it is not a JWT at all.
    :raises MalformedRequestError: if the URL (or body) is not valid text.

    .. warning:: Without ``authenticator``, the claims are unverified: the explanation shows
       what a verifier would check, never that the token is genuine.
    """
    header, claims = parse_token(token, DEFAULT_MAX_FIT_LENGTH)[:2]
    kind = token_kind(header, claims)
    rules = rules_for(kind, authenticator, leeway)
    if len(token) > rules.max_token_length:
        raise exc.TokenTooLargeError(
            f"The token is {len(token)} characters long, more than the "
            f"{rules.max_token_length} allowed",
            length=len(token),
            max_length=rules.max_token_length,
        )
    if base_url is None and authenticator is not None:
        base_url = authenticator.base_url
    request = _Request(http_method, url, base_url, body, body_hashed, allow_context_qsh)
    verifier = TokenVerifier(rules.algorithms, rules.required_claims, rules.leeway)

    # The unverified iss, which the Authenticator reads first to find the secret.
    issuer_error = None
    if rules.verifier == "Authenticator":
        issuer_error = _attempt(lambda: unverified_client_key(claims))
    algorithm, algorithm_error = _algorithm_check(verifier, header, rules)
    claims_error = _attempt(lambda: verifier.check_claims(claims))
    claim_check = _claims_check(rules, claims, issuer_error or claims_error)
    times = tuple(_time_checks(rules, claims))
    qsh_check, qsh_report, qsh_error = _qsh_check(kind, claims, request)
    signature, rejection = _signature_check(kind, token, request, authenticator)
    context_check, context_error = None, None
    if kind.name == "forge" and headers is not None:
        context_check, context_error = _forge_context_check(claims, headers)

    if rejection is not None:
        verdict = Verdict(rejection.code, rejection.message)
    elif signature.status == "ok":
        verdict = Verdict(None, None)
    else:
        # No verdict from a verifier: the first step that fails, in the verifier's order.
        steps = (
            (claim_check, issuer_error),
            (algorithm, algorithm_error),
            (_check_of(claims_error, claim_check, times), claims_error),
            (qsh_check, qsh_error),
            (context_check, context_error),
        )
        failed = next(
            ((check, error) for check, error in steps if check and error is not None), None
        )
        verdict = Verdict(failed[1].code, failed[0].detail) if failed else Verdict(None, None)

    checks = (algorithm, claim_check, *times, signature, qsh_check)
    if context_check is not None:
        checks += (context_check,)
    causes = tuple(_causes(kind, token, claims, authenticator, signature, qsh_report))
    forge = forge_facts(claims, headers) if kind.name == "forge" else None
    return Explanation(kind, rules, header, claims, checks, qsh_report, causes, verdict, forge)


class _Request(NamedTuple):
    """The request the token is explained for."""

    method: str
    url: str
    base_url: str | None
    body: str | None
    body_hashed: bool
    allow_context_qsh: bool


def _check_of(
    error: exc.TokenRejectedError | None, claim_check: Check, times: tuple[Check, ...]
) -> Check:
    """The check that shows a failure of the verifier's claim checks."""
    names = {"token_expired": ("exp",), "token_not_yet_valid": ("iat", "nbf")}
    for check in times:
        if error is not None and check.name in names.get(error.code, ()) and check.code:
            return check
    return claim_check


def _attempt(step: Callable[[], object]) -> exc.TokenRejectedError | None:
    try:
        step()
    except exc.TokenRejectedError as error:
        return error
    return None


def _algorithm_check(
    verifier: TokenVerifier, header: dict[str, Any], rules: Rules
) -> tuple[Check, exc.TokenRejectedError | None]:
    alg = header.get("alg")
    error = _attempt(lambda: verifier.check_header(header))
    if error is None:
        return Check("algorithm", "ok", str(alg)), None
    if isinstance(error, exc.AlgorithmNotAllowedError) and alg in rules.algorithms:
        # Pinned, but PyJWT has no implementation of it here: RS256 without cryptography.
        hint = install_hint("crypto", "cryptography")
        detail = f"{alg} (verifying it needs cryptography: {hint})"
        return Check("algorithm", "ok", detail), None
    if isinstance(error, exc.AlgorithmNotAllowedError):
        pinned = " or ".join(rules.algorithms)
        detail = f"{alg!r}; the {rules.verifier} accepts {pinned} only"
        return Check("algorithm", "fail", detail, error.code), error
    return Check("algorithm", "fail", error.message, error.code), error


def _claims_check(
    rules: Rules, claims: dict[str, Any], error: exc.TokenRejectedError | None
) -> Check:
    missing = [name for name in rules.required_claims if claims.get(name) is None]
    if missing:
        return Check("claims", "fail", f"missing: {', '.join(missing)}", "missing_claim")
    if isinstance(error, exc.InvalidClaimError):
        if error.claim == "iss":
            detail = "iss is not a non-empty string"
        elif error.claim in TIME_CLAIMS:
            detail = f"{error.claim} is not a number"
        else:
            detail = error.message
        return Check("claims", "fail", detail, error.code)
    if isinstance(error, (exc.MissingClaimError, exc.InvalidAudienceError, exc.InvalidIssuerError)):
        return Check("claims", "fail", error.message, error.code)
    return Check("claims", "ok", f"{', '.join(rules.required_claims)} present")


def _time_checks(rules: Rules, claims: dict[str, Any]) -> Iterator[Check]:
    # Each time claim alone, by the verifier's own check with its leeway.
    alone = TokenVerifier(rules.algorithms, (), rules.leeway)
    now = time.time()
    for name in ("exp", "iat", "nbf"):
        value = claims.get(name)
        if not is_numeric_date(value):
            continue  # absent, or reported by the claims check
        facts = time_facts(name, value, now)
        detail = f"{facts.relative} ({facts.utc or 'not a date'})"
        error = _attempt(_claim_alone(alone, name, value))
        if error is not None:
            hint = "" if name == "exp" else " (is a clock wrong?)"
            yield Check(
                name, "fail", f"{detail}, beyond the {rules.leeway:g} s leeway{hint}", error.code
            )
        elif name == "exp" and facts.seconds_from_now is not None and facts.seconds_from_now < 0:
            yield Check(name, "ok", f"{detail}, within the {rules.leeway:g} s leeway")
        else:
            yield Check(name, "ok", detail)


def _claim_alone(verifier: TokenVerifier, name: str, value: Any) -> Callable[[], None]:
    return lambda: verifier.check_claims({name: value})


def _qsh_check(
    kind: TokenKind, claims: dict[str, Any], request: _Request
) -> tuple[Check, QshReport | None, exc.TokenRejectedError | None]:
    token_qsh = claims.get("qsh")
    if kind.name == "forge":
        return Check("qsh", "skipped", "Forge invocation tokens carry no qsh"), None, None
    if token_qsh is None:
        return Check("qsh", "skipped", "the token has no qsh"), None, None
    with rejecting_malformed_url():
        canonical = canonicalize_request(
            request.method,
            request.url,
            request.base_url,
            body_params=request.body if request.body_hashed else None,
        )
    expected = qsh_of(canonical)
    if token_qsh == CONTEXT_QSH:
        report = QshReport(canonical, expected, token_qsh, ())
        if request.allow_context_qsh:
            return Check("qsh", "ok", "context-qsh, accepted on this route"), report, None
        detail = (
            "context-qsh: a context token is bound to no request and is accepted only on routes "
            "that allow context tokens"
        )
        error = _attempt(lambda: check_qsh(token_qsh, canonical))
        return Check("qsh", "fail", detail, "qsh_mismatch"), report, error
    error = _attempt(lambda: check_qsh(token_qsh, canonical))
    if error is None:
        report = QshReport(canonical, expected, token_qsh, ())
        return Check("qsh", "ok", "matches this request"), report, None
    diagnoses: tuple[Diagnosis, ...] = ()
    if isinstance(token_qsh, str):
        with rejecting_malformed_url():
            diagnoses = tuple(
                diagnose_qsh(
                    request.method,
                    request.url,
                    token_qsh,
                    request.base_url,
                    request.body,
                    body_hashed=request.body_hashed,
                )
            )
    detail = "the token's qsh is not the hash of this request's canonical request"
    report = QshReport(canonical, expected, token_qsh, diagnoses)
    return Check("qsh", "fail", detail, "qsh_mismatch"), report, error


def _forge_context_check(
    claims: dict[str, Any], headers: Headers
) -> tuple[Check, exc.TokenRejectedError | None]:
    """The remote contract's context, by the verifier's own rules (what ``verify_request``
    checks once the signature has verified); the invocation it makes is not kept."""
    try:
        ForgeInvocation.from_verified_claims(
            claims, headers, max_token_length=DEFAULT_MAX_FIT_LENGTH
        )
    except (exc.ForgeContextMissingError, exc.ForgeContextInvalidError) as error:
        return Check("context", "fail", error.message, error.code), error
    return Check("context", "ok", "app.id, app.installationId and app.apiBaseUrl usable"), None


def _signature_check(
    kind: TokenKind, token: str, request: _Request, authenticator: Authenticator | None
) -> tuple[Check, exc.TokenRejectedError | None]:
    """Run the ``Authenticator`` itself, whose verdict is the one that counts."""
    if kind.name == "install":
        detail = (
            "not checked: an install token is signed with Atlassian's RSA key (RS256), which a "
            "shared secret cannot verify; verify it with InstallAuthenticator"
        )
        return Check("signature", "skipped", detail), None
    if kind.name == "forge":
        detail = (
            "not checked: a Forge invocation token is signed with a key of Atlassian's Forge key "
            "set (RS256), which a shared secret cannot verify; verify it with "
            "ForgeInvocationVerifier"
        )
        return Check("signature", "skipped", detail), None
    if authenticator is None:
        return Check("signature", "skipped", "not checked: no shared secret given"), None
    try:
        authenticator.authenticate(
            request.method,
            request.url,
            {"Authorization": f"JWT {token}"},
            allow_context_qsh=request.allow_context_qsh,
            body_params=request.body if request.body_hashed else None,
        )
    except exc.TokenRejectedError as error:
        if error.signature_verified:
            return Check("signature", "ok", "verifies with the secret given"), error
        if isinstance(error, exc.InvalidSignatureError):
            detail = "does not verify with the secret given"
            return Check("signature", "fail", detail, error.code), error
        if isinstance(error, exc.AlgorithmNotAllowedError):
            return Check("signature", "fail", error.message, error.code), error
        return Check("signature", "skipped", f"not checked: {error.message}", error.code), error
    return Check("signature", "ok", "verifies with the secret given"), None


# What a secret may have gone through on its way to the signer or to us, and the cause each
# names: (code, description, the secret as the signer may have used it).
_SecretVariant = tuple[str, str, Callable[[str], "str | bytes | None"]]

_SECRET_VARIANTS: tuple[_SecretVariant, ...] = (
    (
        "secret_has_whitespace",
        "the secret given has spaces or a line end around it; the token was signed without",
        lambda secret: secret.strip() if secret.strip() != secret else None,
    ),
    (
        "secret_quoted",
        "the secret given is in quotes (copied from JSON?); the token was signed without them",
        lambda secret: secret.strip("\"'") if secret.strip("\"'") != secret else None,
    ),
    (
        "signer_secret_quoted",
        "the signer's secret is in quotes (copied from JSON with them); the secret is what is "
        "between them",
        lambda secret: f'"{secret}"',
    ),
    (
        "signer_secret_has_line_end",
        "the signer's secret ends with a line end (read from a file and not stripped)",
        lambda secret: secret + "\n",
    ),
    (
        "signer_decoded_secret",
        "the signer base64-decoded the secret before signing; Atlassian's sharedSecret is "
        "used as it is, as text",
        lambda secret: _base64_decoded(secret),
    ),
)


def _base64_decoded(secret: str) -> bytes | None:
    try:
        return base64.b64decode(secret + "=" * (-len(secret) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None


def _verifies(checker: TokenVerifier, parsed: ParsedToken, key: str | bytes) -> bool:
    return _attempt(lambda: checker.check_signature(parsed, key)) is None


def _causes(
    kind: TokenKind,
    token: str,
    claims: dict[str, Any],
    authenticator: Authenticator | None,
    signature: Check,
    qsh: QshReport | None,
) -> Iterator[Cause]:
    if signature.code == "invalid_signature" and authenticator is not None:
        yield from _secret_causes(token, claims, authenticator)
    if signature.code == "unknown_issuer":
        yield Cause(
            "issuer_not_given",
            f"the token names the tenant {claims.get('iss')!r} in iss, and the secret given is "
            "not that tenant's",
        )
    if qsh is not None and qsh.token_qsh != CONTEXT_QSH and qsh.token_qsh != qsh.expected_qsh:
        if not qsh.diagnoses:
            yield Cause(
                "signed_for_another_request",
                "it was signed for another request (another path or other parameters): none "
                "of the usual mistakes gives the token's qsh",
            )


def _secret_causes(
    token: str, claims: dict[str, Any], authenticator: Authenticator
) -> Iterator[Cause]:
    issuer = claims.get("iss")
    secret = authenticator.get_shared_secret(issuer) if isinstance(issuer, str) else None
    if isinstance(secret, bytes):
        try:
            secret = secret.decode("utf-8")
        except UnicodeDecodeError:
            secret = None
    if isinstance(secret, str):
        parsed = parse_token(token, None)
        checker = TokenVerifier(HMAC_ALGORITHMS, (), 0)
        for code, description, variant in _SECRET_VARIANTS:
            candidate = variant(secret)
            if candidate and _verifies(checker, parsed, candidate):
                yield Cause(code, description)
                return
    yield Cause(
        "another_secret",
        f"the token was signed with another secret: is the secret given the sharedSecret of "
        f"the tenant {issuer!r}, from its latest installed callback? (every install or "
        "reinstall sends a new one; a test and a production instance have different ones)",
    )
