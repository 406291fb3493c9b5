"""The ``atlassian-jwt`` command: compute a ``qsh``, read, verify, sign and explain tokens.

Every command is a thin layer over the library: :mod:`~atlassian_jwt.url_utils` builds canonical
requests, :func:`~atlassian_jwt.tokens.decode_unverified` reads tokens, and
:class:`~atlassian_jwt.Authenticator` and :func:`~atlassian_jwt.encode_token` verify and sign.
``explain`` finds the usual ``qsh`` mistakes by feeding transformed requests to the same
canonicalisation and comparing hashes; it never canonicalises on its own.

Secrets are read from an environment variable, a file or standard input, never from the command
line (which other users can see in the process list), and every line this module writes passes
through a filter that removes the secret and the token it was given.
"""

from __future__ import annotations

import argparse
import datetime
import getpass
import inspect
import json
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any, NamedTuple, NoReturn

from . import __version__
from . import exceptions as exc
from .authenticate import CONTEXT_QSH, REQUIRED_CLAIMS, Authenticator, check_qsh
from .diagnose import diagnose_qsh
from .encode import DEFAULT_LIFETIME, encode_token
from .forge import (
    DEFAULT_FORGE_LEEWAY,
    DEFAULT_MAX_FIT_LENGTH,
    FORGE_ISSUER,
    FORGE_JWKS_URLS,
    ForgeInvocationVerifier,
)
from .install import DEFAULT_INSTALL_LEEWAY, InstallAuthenticator
from .keys import (
    KEY_BASE_URLS,
    AtlassianKeyProvider,
    KeyProvider,
    PublicKey,
    load_rsa_public_key,
)
from .tokens import decode_unverified, unverified_header
from .url_utils import (
    base_path,
    canonicalize_request,
    parse_params,
    qsh_of,
    split_url,
)

__all__ = [
    "EXIT_STATUSES",
    "build_parser",
    "exit_status",
    "main",
    "token_kind",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: Every exit status: ``(status, rejection code or None, meaning)``. Each rejection has its own
#: status, looked up by the exception's stable ``code``; ``rejected`` catches any other.
EXIT_STATUSES: tuple[tuple[int, str | None, str], ...] = (
    (EXIT_OK, None, "success: the token is valid, every check passed, or the output is printed"),
    (EXIT_ERROR, None, "the command could not run: a secret, key or tenant file is unreadable"),
    (EXIT_USAGE, None, "usage error: unknown command or option, missing argument"),
    (3, "key_fetch_failed", "the public key could not be fetched now (not the token's fault)"),
    (10, "token_missing", "no token: none given and no jwt parameter in the URL"),
    (11, "token_malformed", "not a JWT (three base64url segments of JSON), or a bad kid"),
    (12, "token_too_large", "the token is too long (8 KiB; 16 KiB for Forge tokens)"),
    (13, "request_malformed", "the URL cannot be canonicalised (it is not valid text)"),
    (14, "unknown_issuer", "the token's iss is not the tenant the secret belongs to"),
    (15, "algorithm_not_allowed", "the token's alg is not the pinned one (HS256, or RS256)"),
    (16, "invalid_signature", "the signature does not verify with the secret or key"),
    (17, "missing_claim", "a required claim (iss, iat, exp, qsh; aud for RS256) is missing"),
    (18, "invalid_claim", "a claim has the wrong type (iat not a number, iss not a string)"),
    (19, "token_expired", "exp is in the past, beyond the leeway"),
    (20, "token_not_yet_valid", "iat or nbf is in the future, beyond the leeway"),
    (21, "invalid_audience", "aud is not this app (its base URL, or its Forge app ARI)"),
    (22, "invalid_issuer", "iss is not the body's clientKey, or not forge/invocation-token"),
    (23, "qsh_mismatch", "the qsh is not the hash of this request (see explain)"),
    (24, "rejected", "any other rejection (a secret that is not a usable key, say)"),
    (25, "unknown_key", "no public key is known for the token's kid"),
    (EXIT_INTERRUPTED, None, "interrupted (Ctrl-C)"),
)

_STATUS_BY_CODE = {code: status for status, code, _ in EXIT_STATUSES if code}

_HASH = re.compile(r"[0-9a-f]{64}")
_HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
# Anything shaped like a JWT (base64url JSON header starting '{"'), removed from error output
# even before we know which token the user meant.
_JWT_SHAPED = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
_REDACTED = "[redacted]"


def exit_status(error: exc.TokenRejectedError | exc.KeyFetchError) -> int:
    """Return the exit status for a rejection, found by its ``code`` (or a base class's).

    >>> exit_status(exc.TokenExpiredError("The token has expired"))
    19
    """
    for cls in type(error).__mro__:
        status = _STATUS_BY_CODE.get(getattr(cls, "code", ""))
        if status is not None:
            return status
    return _STATUS_BY_CODE["rejected"]


class CommandError(Exception):
    """The command cannot run (exit status 1); the message never holds a secret."""


# Output: every line goes through one filter.


class Output:
    """Writes results and errors, removing secrets and tokens from everything written."""

    def __init__(self, stdout: IO[str], stderr: IO[str]) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self._hidden: list[str] = []

    def hide(self, text: str) -> None:
        """Never write ``text`` (a secret, a token, a signature) from now on."""
        # Very short strings would redact ordinary words; no real secret or token is that short.
        if len(text) < 8:
            return
        # As it is, and as it appears inside a JSON string.
        for form in {text, json.dumps(text, ensure_ascii=False)[1:-1]}:
            if form not in self._hidden:
                self._hidden.append(form)
        self._hidden.sort(key=len, reverse=True)

    def clean(self, text: str, *, keep_tokens: bool = False) -> str:
        for hidden in self._hidden:
            text = text.replace(hidden, _REDACTED)
        return text if keep_tokens else _JWT_SHAPED.sub(_REDACTED, text)

    def print(self, text: str = "", *, keep_tokens: bool = False) -> None:
        """Write a line of output; ``keep_tokens`` only for the token ``sign`` made."""
        self.stdout.write(self.clean(text, keep_tokens=keep_tokens) + "\n")

    def json(self, value: Any) -> None:
        self.print(json.dumps(value, indent=2, ensure_ascii=False))

    def error(self, text: str) -> None:
        self.stderr.write(self.clean(text) + "\n")


# Reading inputs.


def _read_stdin(stdin: IO[str], prompt: str) -> str:
    if stdin.isatty():
        return getpass.getpass(prompt)
    return stdin.read()


def _read_file(path: str, what: str, stdin: IO[str]) -> str:
    if path == "-":
        return _read_stdin(stdin, f"{what}: ")
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
        raise CommandError(f"cannot read the {what} file {path}: {reason}") from None


def _read_secret(args: argparse.Namespace, stdin: IO[str], *, required: bool) -> str | None:
    if args.secret_env:
        secret = os.environ.get(args.secret_env, "")
        if not secret:
            raise CommandError(f"the environment variable {args.secret_env} is not set or empty")
    elif args.secret_file:
        secret = _read_file(args.secret_file, "secret", stdin).rstrip("\r\n")
    elif args.tenant:
        return None
    elif required:
        secret = _read_stdin(stdin, "Shared secret: ").rstrip("\r\n")
    else:
        return None
    if not secret:
        raise CommandError("the secret is empty")
    return secret


def _read_tenant(path: str, stdin: IO[str]) -> dict[str, str]:
    """Read the ``installed`` callback's JSON: clientKey and sharedSecret, key and baseUrl."""
    text = _read_file(path, "tenant", stdin)
    try:
        data = json.loads(text)
    except ValueError:
        # The decoder's message can quote the text, which holds the secret: say only where.
        raise CommandError(f"the tenant file {path} is not JSON") from None
    if not isinstance(data, dict):
        raise CommandError(f"the tenant file {path} is not a JSON object")
    tenant = {}
    for name in ("clientKey", "sharedSecret", "key", "baseUrl"):
        value = data.get(name)
        if value is None and name in ("key", "baseUrl"):
            continue
        if not isinstance(value, str) or not value:
            raise CommandError(f'the tenant file {path} has no "{name}" string')
        tenant[name] = value
    return tenant


def _token_from_text(text: str) -> str:
    """Take the token out of what the user pasted: the token, a header, or a URL with jwt=."""
    text = text.strip()
    if text[:14].lower() == "authorization:":
        text = text[14:].strip()
    parts = text.split()
    if len(parts) == 2 and parts[0].lower() in ("jwt", "bearer"):
        return parts[1]
    if "jwt=" in text and ("?" in text or "&" in text):
        values = parse_params(_split(text if "?" in text else "?" + text)[1]).get("jwt", [])
        if len(values) == 1:
            return values[0]
    return text


def _read_token(value: str | None, url: str | None, stdin: IO[str], out: Output) -> str:
    """Return the token given as an argument (``-``: standard input), else the URL's ``jwt``.

    :raises TokenMissingError: if there is none.
    :raises MalformedTokenError: if the URL has more than one ``jwt`` parameter.
    """
    if value == "-":
        value = _read_stdin(stdin, "Token: ")
    if value is not None:
        token = _token_from_text(value)
    elif url is not None:
        # The same rule as the Authenticator's: one jwt parameter, or none at all.
        values = parse_params(_split(url)[1]).get("jwt", [])
        if len(values) > 1:
            raise exc.MalformedTokenError("The URL carries more than one jwt parameter")
        token = values[0] if values else ""
    else:
        token = ""
    if not token:
        raise exc.TokenMissingError(
            "No token given"
            + (", and the URL has no jwt parameter" if url is not None else "")
            + " (pass it, or - to read it from standard input)"
        )
    out.hide(token)
    out.hide(token.rpartition(".")[2])
    return token


def _split(url: str) -> tuple[str, str]:
    try:
        return split_url(url)
    except ValueError:
        raise exc.MalformedRequestError("The URL is not valid text") from None


# Times.


def _time_facts(name: str, value: Any, now: float) -> dict[str, Any]:
    """Describe a time claim: UTC, relative to now, and the seconds from now."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return {"value": value, "utc": None, "relative": "not a number", "seconds_from_now": None}
    delta = value - now
    try:
        moment = datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return {"value": value, "utc": None, "relative": "out of range", "seconds_from_now": delta}
    span = _span(delta)
    relative = {
        "exp": (f"expires in {span}", f"expired {span} ago"),
        "iat": (f"issued {span} in the future", f"issued {span} ago"),
        "nbf": (f"not valid for another {span}", f"valid since {span} ago"),
    }[name][0 if delta > 0 else 1]
    return {
        "value": value,
        "utc": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "relative": relative,
        "seconds_from_now": round(delta, 3),
    }


def _span(seconds: float) -> str:
    """Say how long ``seconds`` is, in the largest unit that keeps it readable."""
    seconds = abs(seconds)
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 1.5 * size:
            return f"{round(seconds / size)} {unit}"
    return f"{round(seconds)} s"


# Recognising a token.


def token_kind(header: dict[str, Any], claims: dict[str, Any]) -> tuple[str, str]:
    """Recognise a token from its unverified header and claims: ``(kind, description)``.

    >>> token_kind({"alg": "HS256"}, {"qsh": "context-qsh"})[0]
    'context'
    """
    alg = header.get("alg")
    qsh = claims.get("qsh")
    hashed = isinstance(qsh, str) and bool(_HASH.fullmatch(qsh))
    if claims.get("iss") == FORGE_ISSUER:
        return "forge", f"Forge invocation token ({alg}, issued by Forge, no qsh)"
    if alg in _HMAC_ALGORITHMS and qsh == CONTEXT_QSH:
        return "context", (
            f"context token ({alg}, qsh context-qsh: from AP.context.getToken(), bound to no "
            "request)"
        )
    if alg == "RS256" and "kid" in header and hashed:
        return "install", "install token (RS256 with kid: a signed install/uninstall callback)"
    if alg in _HMAC_ALGORITHMS and hashed:
        return "request", f"request token ({alg}, bound to one request by its qsh)"
    if qsh is None:
        return "unknown", f"unknown kind ({alg}, no qsh claim)"
    return "unknown", f"unknown kind ({alg}, qsh is neither a request hash nor context-qsh)"


def _audience(claims: dict[str, Any]) -> list[Any]:
    aud = claims.get("aud")
    if aud is None:
        return []
    return list(aud) if isinstance(aud, list) else [aud]


# Commands.


def _cmd_qsh(args: argparse.Namespace, out: Output, stdin: IO[str]) -> int:
    try:
        canonical = canonicalize_request(
            args.method, args.url, args.base_url, body_params=args.body
        )
    except ValueError:
        raise exc.MalformedRequestError("The URL is not valid text") from None
    qsh = qsh_of(canonical)
    if args.json:
        out.json(
            {
                "method": args.method.upper(),
                "base_path": base_path(args.base_url),
                "canonical_request": canonical,
                "qsh": qsh,
            }
        )
    else:
        out.print(f"canonical request: {canonical}")
        out.print(f"qsh:               {qsh}")
    return EXIT_OK


def _decoded(token: str, now: float) -> dict[str, Any]:
    header, claims = decode_unverified(token, DEFAULT_MAX_FIT_LENGTH)
    kind, description = token_kind(header, claims)
    times = {
        name: _time_facts(name, claims[name], now)
        for name in ("iat", "nbf", "exp")
        if name in claims
    }
    return {
        "verified": False,
        "warning": "UNVERIFIED: the signature has not been checked; trust none of this",
        "kind": kind,
        "kind_description": description,
        "header": header,
        "claims": claims,
        "audience": _audience(claims),
        "times": times,
    }


def _cmd_decode(args: argparse.Namespace, out: Output, stdin: IO[str]) -> int:
    token = _read_token(args.token, None, stdin, out)
    decoded = _decoded(token, time.time())
    if args.json:
        out.json(decoded)
        return EXIT_OK
    out.print("UNVERIFIED: the signature has not been checked; trust none of this.")
    out.print(f"kind:   {decoded['kind_description']}")
    out.print(f"header: {json.dumps(decoded['header'], ensure_ascii=False)}")
    out.print("claims:")
    for name, value in decoded["claims"].items():
        if name == "aud":
            value = decoded["audience"]
        line = f"  {name}: {json.dumps(value, ensure_ascii=False)}"
        facts = decoded["times"].get(name)
        if facts:
            line += f"  ({facts['utc'] + ', ' if facts['utc'] else ''}{facts['relative']})"
        out.print(line)
    return EXIT_OK


class _CommandLineAuthenticator(Authenticator):
    """An Authenticator holding one secret, for the issuers it may belong to."""

    def __init__(self, secret: str, issuers: frozenset[str] | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._secret = secret
        self._issuers = issuers

    def get_shared_secret(self, client_key: str) -> str | None:
        if self._issuers is None or client_key in self._issuers:
            return self._secret
        return None


def _hmac_authenticator(
    args: argparse.Namespace, stdin: IO[str], out: Output, *, required: bool
) -> _CommandLineAuthenticator | None:
    """Build the authenticator from the secret options, or ``None`` without a secret."""
    secret = _read_secret(args, stdin, required=required)
    issuers: set[str] | None = None
    if args.tenant:
        tenant = _read_tenant(args.tenant, stdin)
        secret = tenant["sharedSecret"]
        # The product signs with iss = clientKey; the app, calling the product, with its key.
        issuers = {tenant["clientKey"], tenant.get("key", tenant["clientKey"])}
    if secret is None:
        return None
    out.hide(secret)
    if args.issuer:
        issuers = (issuers or {args.issuer}) & {args.issuer}
    kwargs: dict[str, Any] = {"base_url": args.base_url}
    if args.leeway is not None:
        kwargs["leeway"] = args.leeway
    return _CommandLineAuthenticator(
        secret, None if issuers is None else frozenset(issuers), **kwargs
    )


def _leeway(args: argparse.Namespace, kind: str) -> float:
    """The leeway given, else the default of the authenticator that verifies this kind."""
    if args.leeway is not None:
        return float(args.leeway)
    if kind in ("install", "forge"):
        return {"install": DEFAULT_INSTALL_LEEWAY, "forge": DEFAULT_FORGE_LEEWAY}[kind]
    default: float = inspect.signature(Authenticator.__init__).parameters["leeway"].default
    return default


class _OneKeyProvider:
    """The public key from ``--key-file``, whatever ``kid`` the token names."""

    def __init__(self, key: PublicKey) -> None:
        self._key = key

    def get_key(self, kid: str) -> PublicKey:
        return self._key


def _install_authenticator(args: argparse.Namespace, stdin: IO[str]) -> InstallAuthenticator | None:
    """Build the RS256 authenticator from the key options, or ``None`` without them."""
    if not (args.key_file or args.key_server or args.key_server_url):
        return None
    kwargs: dict[str, Any] = {}
    if args.leeway is not None:
        kwargs["leeway"] = args.leeway
    try:
        provider: KeyProvider
        if args.key_file:
            try:
                key = load_rsa_public_key(_read_file(args.key_file, "key", stdin))
            except ValueError as error:
                raise CommandError(f"the key file {args.key_file} is not usable: {error}") from None
            provider = _OneKeyProvider(key)
        elif args.key_server_url:
            provider = AtlassianKeyProvider(base_url=args.key_server_url)
        else:
            provider = AtlassianKeyProvider(args.key_server)
        return InstallAuthenticator(args.app_base_url, key_provider=provider, **kwargs)
    except ImportError as error:
        raise CommandError(str(error)) from None
    except ValueError as error:
        raise CommandError(str(error)) from None


def _lifecycle_body(args: argparse.Namespace, stdin: IO[str], out: Output) -> Any:
    """The callback's body from --body-file (hiding its secret), or just --client-key."""
    if args.client_key:
        return {"clientKey": args.client_key}
    text = _read_file(args.body_file, "body", stdin)
    try:
        secret = json.loads(text).get("sharedSecret")
    except (ValueError, AttributeError, RecursionError):
        secret = None
    if isinstance(secret, str):
        out.hide(secret)
    return text


def _forge_verifier(args: argparse.Namespace) -> ForgeInvocationVerifier:
    kwargs: dict[str, Any] = {"environment": args.forge_environment or "production"}
    if args.jwks_url:
        kwargs["jwks_url"] = args.jwks_url
    if args.leeway is not None:
        kwargs["leeway"] = args.leeway
    try:
        return ForgeInvocationVerifier(args.forge_app_id, **kwargs)
    except (ImportError, ValueError) as error:
        raise CommandError(str(error)) from None


def _cmd_verify(args: argparse.Namespace, out: Output, stdin: IO[str]) -> int:
    client_key: str | None = None
    installs = _install_authenticator(args, stdin)
    if args.forge_app_id:
        forge = _forge_verifier(args)
        token = _read_token(args.token, None, stdin, out)
        claims = forge.verify(token)
    elif installs is not None:
        body = _lifecycle_body(args, stdin, out)
        token = _read_token(args.token, args.url, stdin, out)
        result = installs.authenticate(
            args.method, args.url, {"Authorization": f"JWT {token}"}, body
        )
        client_key, claims = result.client_key, result.claims
    else:
        authenticator = _hmac_authenticator(args, stdin, out, required=True)
        assert authenticator is not None  # required=True reads a secret or fails
        token = _read_token(args.token, args.url, stdin, out)
        result = authenticator.authenticate(
            args.method,
            args.url,
            {"Authorization": f"JWT {token}"},
            allow_context_qsh=args.allow_context_qsh,
            body_params=args.body,
        )
        client_key, claims = result.client_key, result.claims
    kind, description = token_kind(unverified_header(token, DEFAULT_MAX_FIT_LENGTH), claims)
    expiry = _time_facts("exp", claims["exp"], time.time())
    if args.json:
        out.json(
            {
                "valid": True,
                "kind": kind,
                "kind_description": description,
                "client_key": client_key,
                "claims": claims,
                "audience": _audience(claims),
                "exp": expiry,
            }
        )
    else:
        issuer = f"iss {client_key}" if client_key else f"aud {claims['aud']}"
        out.print(f"valid: {description}; {issuer}; {expiry['relative']}")
    return EXIT_OK


def _cmd_sign(args: argparse.Namespace, out: Output, stdin: IO[str]) -> int:
    tenant = _read_tenant(args.tenant, stdin)
    out.hide(tenant["sharedSecret"])
    try:
        token = encode_token(
            args.method,
            args.url,
            timeout_secs=args.lifetime,
            payload_kwargs={"sub": args.sub} if args.sub else None,
            **tenant,
        )
        canonical = canonicalize_request(args.method, args.url, tenant.get("baseUrl"))
    except ValueError:
        raise exc.MalformedRequestError("The URL is not valid text") from None
    header = f"JWT {token}"
    if args.json:
        result = {
            "token": token,
            "authorization": header,
            "canonical_request": canonical,
            "claims": decode_unverified(token)[1],
        }
        out.print(json.dumps(result, indent=2, ensure_ascii=False), keep_tokens=True)
    else:
        out.print(f"Authorization: {header}" if args.header else token, keep_tokens=True)
    return EXIT_OK


class _Check(NamedTuple):
    name: str
    status: str  # "ok", "fail", "skipped" or "info"
    detail: str
    code: str | None = None


def _claim_checks(kind: str, claims: dict[str, Any]) -> _Check:
    required = {"forge": ("iss", "aud", "exp"), "install": (*REQUIRED_CLAIMS, "aud")}.get(
        kind, REQUIRED_CLAIMS
    )
    missing = [name for name in required if claims.get(name) is None]
    if missing:
        return _Check("claims", "fail", f"missing: {', '.join(missing)}", "missing_claim")
    if not isinstance(claims["iss"], str) or not claims["iss"]:
        return _Check("claims", "fail", "iss is not a non-empty string", "invalid_claim")
    for name in ("iat", "nbf", "exp"):
        value = claims.get(name)
        if name in claims and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return _Check("claims", "fail", f"{name} is not a number", "invalid_claim")
    return _Check("claims", "ok", f"{', '.join(required)} present")


def _time_checks(claims: dict[str, Any], leeway: float, now: float) -> Iterator[_Check]:
    for name in ("exp", "iat", "nbf"):
        value = claims.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        facts = _time_facts(name, value, now)
        detail = f"{facts['relative']} ({facts['utc'] or 'not a date'})"
        if name == "exp" and value < now - leeway:
            yield _Check(name, "fail", f"{detail}, beyond the {leeway:g} s leeway", "token_expired")
        elif name != "exp" and value > now + leeway:
            yield _Check(
                name,
                "fail",
                f"{detail}, beyond the {leeway:g} s leeway (is a clock wrong?)",
                "token_not_yet_valid",
            )
        elif name == "exp" and value < now:
            yield _Check(name, "ok", f"{detail}, within the {leeway:g} s leeway")
        else:
            yield _Check(name, "ok", detail)


# Rejections raised once the signature has verified: PyJWT checks the signature before any
# claim, and the Authenticator compares the qsh last.
_AFTER_SIGNATURE = (
    exc.TokenExpiredError,
    exc.TokenNotYetValidError,
    exc.QshMismatchError,
    exc.InvalidAudienceError,
    exc.InvalidIssuerError,
)


def _signature_check(
    args: argparse.Namespace, kind: str, token: str, authenticator: Authenticator | None
) -> tuple[_Check, exc.TokenRejectedError | None]:
    """Run the Authenticator itself; its verdict is the one that counts."""
    if authenticator is None:
        detail = "not checked: no secret given (--secret-env, --secret-file or --tenant)"
        return _Check("signature", "skipped", detail), None
    if kind in ("install", "forge"):
        return _Check(
            "signature", "skipped", "not checked here: use verify with --key-file or --key-server"
        ), None
    try:
        authenticator.authenticate(
            args.method,
            args.url,
            {"Authorization": f"JWT {token}"},
            allow_context_qsh=args.allow_context_qsh,
        )
    except exc.TokenRejectedError as error:
        claim = getattr(error, "claim", None)
        if isinstance(error, _AFTER_SIGNATURE) or (
            isinstance(error, (exc.MissingClaimError, exc.InvalidClaimError)) and claim != "iss"
        ):
            return _Check("signature", "ok", "verifies with the secret given"), error
        if isinstance(error, (exc.InvalidSignatureError, exc.AlgorithmNotAllowedError)):
            return _Check("signature", "fail", error.message, error.code), error
        return _Check("signature", "skipped", f"not checked: {error.message}", error.code), error
    return _Check("signature", "ok", "verifies with the secret given"), None


def _qsh_report(
    args: argparse.Namespace, kind: str, claims: dict[str, Any]
) -> tuple[_Check, dict[str, Any] | None]:
    token_qsh = claims.get("qsh")
    if kind == "forge":
        return _Check("qsh", "skipped", "Forge invocation tokens carry no qsh"), None
    if token_qsh is None:
        return _Check("qsh", "skipped", "the token has no qsh"), None
    try:
        canonical = canonicalize_request(args.method, args.url, args.base_url)
    except ValueError:
        raise exc.MalformedRequestError("The URL is not valid text") from None
    report: dict[str, Any] = {
        "canonical_request": canonical,
        "expected_qsh": qsh_of(canonical),
        "token_qsh": token_qsh,
        "diagnoses": [],
    }
    if token_qsh == CONTEXT_QSH:
        if args.allow_context_qsh:
            return _Check("qsh", "ok", "context-qsh, accepted with --allow-context-qsh"), report
        detail = (
            "context-qsh: a context token is bound to no request and is accepted only on routes "
            "that allow it (--allow-context-qsh)"
        )
        return _Check("qsh", "fail", detail, "qsh_mismatch"), report
    try:
        check_qsh(token_qsh, canonical)
    except exc.QshMismatchError:
        if isinstance(token_qsh, str):
            report["diagnoses"] = [
                diagnosis._asdict()
                for diagnosis in diagnose_qsh(
                    args.method, args.url, token_qsh, args.base_url, args.body
                )
            ]
        detail = "the token's qsh is not the hash of this request's canonical request"
        return _Check("qsh", "fail", detail, "qsh_mismatch"), report
    return _Check("qsh", "ok", "matches this request"), report


def _cmd_explain(args: argparse.Namespace, out: Output, stdin: IO[str]) -> int:
    authenticator = _hmac_authenticator(args, stdin, out, required=False)
    token = _read_token(args.token, args.url, stdin, out)
    now = time.time()
    header, claims = decode_unverified(token, DEFAULT_MAX_FIT_LENGTH)
    kind, description = token_kind(header, claims)

    alg = header.get("alg")
    expected_alg = "RS256" if kind in ("install", "forge") else "HS256"
    checks = [
        _Check("algorithm", "ok", str(alg))
        if alg == expected_alg
        else _Check(
            "algorithm",
            "fail",
            f"{alg!r}; {kind} tokens are verified with {expected_alg} only",
            "algorithm_not_allowed",
        ),
        _claim_checks(kind, claims),
        *_time_checks(claims, _leeway(args, kind), now),
    ]
    signature, verdict = _signature_check(args, kind, token, authenticator)
    qsh_check, qsh = _qsh_report(args, kind, claims)
    checks += [signature, qsh_check]

    if signature.status == "skipped" and signature.code is None:
        # No verdict from the Authenticator: the first failing check decides, in its order.
        failed = [check for check in checks if check.status == "fail"]
        code = failed[0].code if failed else None
        message = failed[0].detail if failed else None
    else:
        code = verdict.code if verdict else None
        message = verdict.message if verdict else None
    status = _STATUS_BY_CODE.get(code, _STATUS_BY_CODE["rejected"]) if code else EXIT_OK
    result = {
        "verified": signature.status == "ok",
        "kind": kind,
        "kind_description": description,
        "checks": [check._asdict() for check in checks],
        "qsh": qsh,
        "verdict": {"valid": code is None, "code": code, "message": message, "exit_status": status},
    }
    if args.json:
        out.json(result)
    else:
        _print_explanation(result, out)
    return status


def _print_explanation(result: dict[str, Any], out: Output) -> None:
    if not result["verified"]:
        out.print("UNVERIFIED: the signature has not been checked with a secret.")
    out.print(f"token:      {result['kind_description']}")
    marks = {"ok": "ok", "fail": "FAIL", "skipped": "--", "info": ""}
    for check in result["checks"]:
        out.print(f"{check['name']:<11} {marks[check['status']]:<5} {check['detail']}")
    qsh = result["qsh"]
    if qsh and qsh["token_qsh"] != qsh["expected_qsh"]:
        out.print(f"  we compute    {qsh['canonical_request']}")
        out.print(f"  whose hash is {qsh['expected_qsh']}")
        out.print(f"  token's qsh   {qsh['token_qsh']}")
        for diagnosis in qsh["diagnoses"]:
            out.print(f"  likely cause: {diagnosis['description']}")
            codes = ", ".join(diagnosis["codes"])
            out.print(f"    [{codes}] hashed {diagnosis['canonical_request']}")
        if not qsh["diagnoses"] and qsh["token_qsh"] != CONTEXT_QSH:
            out.print(
                "  none of the usual mistakes gives the token's qsh: it was signed for another "
                "request (another path or other parameters)"
            )
    verdict = result["verdict"]
    if verdict["valid"]:
        checked = "" if result["verified"] else " (the signature was not checked)"
        out.print(f"verdict:    valid{checked}")
    else:
        out.print(
            f"verdict:    rejected, {verdict['code']} (exit status {verdict['exit_status']}): "
            f"{verdict['message']}"
        )


# The parser.

_EXAMPLES = """\
examples:
  atlassian-jwt qsh GET 'https://example.atlassian.net/wiki/rest/api/space?limit=10' \\
      --base-url https://example.atlassian.net/wiki
  atlassian-jwt decode "$TOKEN"
  atlassian-jwt decode --json - < token.txt
  atlassian-jwt verify "$TOKEN" --method GET --url '/installed?x=1' --secret-env SHARED_SECRET
  atlassian-jwt sign GET https://example.atlassian.net/rest/api/3/myself \\
      --tenant tenant.json --header
  atlassian-jwt explain GET 'https://app.example.com/page?a=1' "$TOKEN" --secret-file secret.txt
"""


def _exit_status_help() -> str:
    lines = ["exit status:"]
    for status, code, meaning in EXIT_STATUSES:
        lines.append(f"  {status:>3}  {(code or ''):<22}{meaning}")
    return "\n".join(lines) + "\n"


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose error messages never repeat a token."""

    def error(self, message: str) -> NoReturn:
        super().error(_JWT_SHAPED.sub(_REDACTED, message))


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def _leeway_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be a number of seconds, 0 or more")
    return value


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """Return the ``atlassian-jwt`` argument parser."""
    formatter = argparse.RawDescriptionHelpFormatter
    common = _Parser(add_help=False)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )

    request = _Parser(add_help=False)
    request.add_argument(
        "--base-url",
        metavar="URL",
        help="base URL (or path) removed from the request path before hashing: the tenant's "
        "baseUrl for calls to the product (Confluence: .../wiki), the app's base URL for calls "
        "to the app",
    )

    secret = _Parser(add_help=False)
    sources = secret.add_mutually_exclusive_group()
    sources.add_argument(
        "--secret-env", metavar="VAR", help="read the shared secret from the variable VAR"
    )
    sources.add_argument(
        "--secret-file", metavar="FILE", help="read the shared secret from FILE (- for stdin)"
    )
    sources.add_argument(
        "--tenant",
        metavar="FILE",
        help="the installed-callback JSON (- for stdin): its sharedSecret, for the issuers "
        "clientKey and key only",
    )
    secret.add_argument(
        "--issuer", metavar="ISS", help="accept only tokens whose iss is ISS (default: any)"
    )
    secret.add_argument(
        "--leeway",
        type=_leeway_seconds,
        metavar="SECONDS",
        help="clock skew allowed for exp, iat and nbf (default: the library's: 90, and 30 for "
        "install and Forge tokens)",
    )

    context = _Parser(add_help=False)
    context.add_argument(
        "--allow-context-qsh",
        action="store_true",
        help="accept context tokens (qsh context-qsh), as routes called from the app's own "
        "front end do",
    )

    parser = _Parser(
        prog=prog,
        allow_abbrev=False,
        description="Compute qsh values, and read, verify, sign and explain Atlassian Connect "
        "JWTs. Secrets come from a variable, a file or standard input, never from the command "
        "line, and no secret or whole token is ever printed (except the token sign makes).",
        epilog=_EXAMPLES + "\n" + _exit_status_help(),
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    def command(
        name: str,
        handler: Callable[[argparse.Namespace, Output, IO[str]], int],
        description: str,
        example: str,
        parents: Sequence[_Parser] = (),
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            parents=[common, *parents],
            help=description.split(":")[0].split(".")[0],
            description=description,
            epilog=f"example:\n  {example}\n\n{_exit_status_help()}",
            formatter_class=formatter,
            allow_abbrev=False,
        )
        sub.set_defaults(handler=handler, parser=sub)
        return sub

    sub = command(
        "qsh",
        _cmd_qsh,
        "Print the canonical request METHOD&URI&QUERY and its hash, the qsh claim.",
        "atlassian-jwt qsh GET 'https://example.atlassian.net/wiki/rest/api/space?limit=10' "
        "--base-url https://example.atlassian.net/wiki",
        [request],
    )
    sub.add_argument("method", metavar="METHOD")
    sub.add_argument("url", metavar="URL", help="the URL as sent, absolute or relative")
    sub.add_argument(
        "--body", metavar="FORM", help="a form-encoded body whose parameters are hashed too"
    )

    sub = command(
        "decode",
        _cmd_decode,
        "Show a token's header and claims, UNVERIFIED: times in UTC and relative to now, aud "
        "as a list, and the kind of token (request, context, install or Forge).",
        'atlassian-jwt decode "$TOKEN"',
    )
    sub.add_argument(
        "token",
        metavar="TOKEN",
        help="the token, an 'Authorization: JWT ...' header, a URL with jwt=, or - for stdin",
    )

    sub = command(
        "verify",
        _cmd_verify,
        "Verify a token for a request as an app does: signature, claims, times and qsh. "
        "Prints one line; the exit status says why it was rejected. HS256 tokens are checked "
        "with the shared secret (without --secret-env, --secret-file or --tenant it is read "
        "from stdin); signed install callbacks (RS256) with --key-file or --key-server, "
        "--app-base-url and --body-file or --client-key; Forge invocation tokens with "
        "--forge-app-id.",
        'atlassian-jwt verify "$TOKEN" --method GET --url "$URL" --secret-env SHARED_SECRET',
        [request, secret, context],
    )
    sub.add_argument(
        "token",
        metavar="TOKEN",
        nargs="?",
        help="the token (- for stdin); default: the jwt parameter of --url",
    )
    sub.add_argument(
        "--method",
        metavar="METHOD",
        help="the request's method (required, except for Forge tokens)",
    )
    sub.add_argument(
        "--url", metavar="URL", help="the URL as received (required, except for Forge tokens)"
    )
    sub.add_argument(
        "--body", metavar="FORM", help="a form-encoded body whose parameters the signer hashed"
    )
    rs256 = sub.add_argument_group(
        "RS256: signed installed/uninstalled callbacks (needs atlassian-jwt[crypto])"
    )
    keys = rs256.add_mutually_exclusive_group()
    keys.add_argument("--key-file", metavar="PEM", help="Atlassian's public key, as a PEM file")
    keys.add_argument(
        "--key-server",
        choices=sorted(KEY_BASE_URLS),
        help="fetch the key for the token's kid from Atlassian's key server",
    )
    keys.add_argument(
        "--key-server-url", metavar="URL", help="fetch keys from URL/<kid> (https:// only)"
    )
    rs256.add_argument(
        "--app-base-url",
        action="append",
        metavar="URL",
        help="the app's base URL, which aud must name (repeat for several)",
    )
    bodies = rs256.add_mutually_exclusive_group()
    bodies.add_argument(
        "--body-file",
        metavar="FILE",
        help="the callback's JSON body (- for stdin): iss must be its clientKey",
    )
    bodies.add_argument(
        "--client-key", metavar="KEY", help="instead of the body: its clientKey alone"
    )
    forge = sub.add_argument_group("Forge invocation tokens (needs atlassian-jwt[crypto])")
    forge.add_argument(
        "--forge-app-id",
        metavar="ID",
        help="verify a Forge invocation token for this app (its id or ARI): no --method or --url",
    )
    jwks = forge.add_mutually_exclusive_group()
    jwks.add_argument(
        "--forge-environment",
        choices=sorted(FORGE_JWKS_URLS),
        help="which of Atlassian's key sets (default production)",
    )
    jwks.add_argument("--jwks-url", metavar="URL", help="another key set (https:// only)")

    sub = command(
        "sign",
        _cmd_sign,
        "Sign a call from the app to the product with a tenant's shared secret, as "
        "encode_token does: iss is the app key, the qsh is relative to the tenant's baseUrl.",
        'curl -H "$(atlassian-jwt sign GET "$URL" --tenant tenant.json --header)" "$URL"',
    )
    sub.add_argument("method", metavar="METHOD")
    sub.add_argument("url", metavar="URL")
    sub.add_argument(
        "--tenant",
        required=True,
        metavar="FILE",
        help="the installed-callback JSON: clientKey, sharedSecret, key, baseUrl (- for stdin)",
    )
    sub.add_argument(
        "--lifetime",
        type=_positive_int,
        default=DEFAULT_LIFETIME,
        metavar="SECONDS",
        help=f"token lifetime (default {DEFAULT_LIFETIME})",
    )
    sub.add_argument("--sub", metavar="ACCOUNT_ID", help="the acting user's account id")
    sub.add_argument(
        "--header", action="store_true", help="print the whole 'Authorization: JWT ...' header"
    )

    sub = command(
        "explain",
        _cmd_explain,
        "Say which check a token fails for a request, and why. For a qsh mismatch, show the "
        "canonical request next to the token's qsh and name the usual mistake that produces "
        "it: base path not removed or removed twice, + versus %20, repeated parameters not "
        "merged, path decoded or encoded, trailing slash kept, the jwt parameter hashed, the "
        "wrong method, form-body parameters hashed. The signature is checked only with a "
        "secret.",
        "atlassian-jwt explain GET 'https://app.example.com/page?a=1' \"$TOKEN\" "
        "--base-url https://app.example.com",
        [request, secret, context],
    )
    sub.add_argument("method", metavar="METHOD")
    sub.add_argument("url", metavar="URL", help="the URL as received")
    sub.add_argument(
        "token",
        metavar="TOKEN",
        nargs="?",
        help="the token (- for stdin); default: the jwt parameter of URL",
    )
    sub.add_argument(
        "--body", metavar="FORM", help="the form-encoded body, which the signer may have hashed"
    )
    return parser


def _option_problem(args: argparse.Namespace) -> str | None:
    """Say what is wrong with a combination of options that argparse cannot express."""
    if args.handler is not _cmd_verify:
        return None
    # Three kinds of token, each with its own options.
    options = {
        "hs256": {
            "--secret-env": args.secret_env,
            "--secret-file": args.secret_file,
            "--tenant": args.tenant,
            "--issuer": args.issuer,
            "--allow-context-qsh": args.allow_context_qsh,
            "--body": args.body,
            "--base-url": args.base_url,
        },
        "rs256": {
            "--key-file": args.key_file,
            "--key-server": args.key_server,
            "--key-server-url": args.key_server_url,
            "--app-base-url": args.app_base_url,
            "--body-file": args.body_file,
            "--client-key": args.client_key,
        },
        "forge": {
            "--forge-app-id": args.forge_app_id,
            "--forge-environment": args.forge_environment,
            "--jwks-url": args.jwks_url,
        },
    }
    if args.forge_app_id:
        mode = "forge"
    elif args.key_file or args.key_server or args.key_server_url:
        mode = "rs256"
    else:
        mode = "hs256"
    wrong = [
        name for other, names in options.items() if other != mode for name, v in names.items() if v
    ]
    if wrong:
        kind = {"hs256": "an HS256 token", "rs256": "a public key", "forge": "--forge-app-id"}[mode]
        return f"{', '.join(wrong)}: not with {kind}"
    if mode == "forge":
        if args.method or args.url:
            return "a Forge invocation token is bound to no request: leave out --method and --url"
        return None
    if not (args.method and args.url):
        return "--method and --url are required"
    if mode == "rs256" and not args.app_base_url:
        return "--app-base-url is required with a public key"
    if mode == "rs256" and not (args.body_file or args.client_key):
        return "--body-file or --client-key is required with a public key"
    return None


def _uses_stdin_twice(args: argparse.Namespace) -> bool:
    files = [getattr(args, name, None) for name in ("secret_file", "tenant", "body_file")]
    readers = files.count("-") + (getattr(args, "token", None) == "-")
    key_sources = ("secret_env", "key_file", "key_server", "key_server_url", "forge_app_id")
    if args.handler is _cmd_verify and not any(
        [*files, *(getattr(args, name) for name in key_sources)]
    ):
        readers += 1  # verify then reads the secret from standard input
    return readers > 1


def main(
    argv: Sequence[str] | None = None,
    *,
    prog: str | None = None,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """Run the command line; return the exit status.

    :param argv: the arguments (default: ``sys.argv[1:]``).
    :param prog: the program name shown in help (default: from ``sys.argv[0]``).
    """
    parser = build_parser(prog)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # argparse would list them, and a misplaced secret or token with them: names only.
        names = [arg.partition("=")[0] if arg.startswith("-") else "..." for arg in unknown]
        parser.error(f"unrecognized arguments: {' '.join(names)} (values not shown)")
    problem = _option_problem(args)
    if problem:
        args.parser.error(problem)
    if _uses_stdin_twice(args):
        args.parser.error("standard input can give only one of the token, the secret and the body")
    out = Output(stdout or sys.stdout, stderr or sys.stderr)
    # Warnings (PyJWT's about a short HMAC key, say) become one line each, filtered too.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            status: int = args.handler(args, out, stdin or sys.stdin)
        except exc.TokenRejectedError as error:
            status = exit_status(error)
            _report(out, args.json, status, error.code, error.message, error)
        except exc.KeyFetchError as error:
            status = exit_status(error)
            _report(out, args.json, status, error.code, str(error), None)
        except CommandError as error:
            status = EXIT_ERROR
            _report(out, args.json, status, "error", str(error), None)
        except KeyboardInterrupt:
            status = EXIT_INTERRUPTED
    for warning in caught:
        out.error(f"warning: {warning.message}")
    return status


def _report(
    out: Output,
    as_json: bool,
    status: int,
    code: str,
    message: str,
    error: exc.TokenRejectedError | None,
) -> None:
    if as_json:
        result: dict[str, Any] = {
            "valid": False,
            "code": code,
            "message": message,
            "exit_status": status,
        }
        if isinstance(error, exc.QshMismatchError):
            result.update(
                canonical_request=error.canonical_request,
                expected_qsh=error.expected_qsh,
                token_qsh=error.token_qsh,
            )
        out.json(result)
    elif status == EXIT_ERROR:
        out.error(f"error: {message}")
    else:
        verdict = "rejected" if error is not None else "not verified"
        line = f"{verdict}, {code} (exit status {status}): {message}"
        if isinstance(error, exc.QshMismatchError):
            line += (
                f"; we computed {error.canonical_request!r}, the token's qsh is "
                f"{error.token_qsh} (try explain)"
            )
        out.error(line)
