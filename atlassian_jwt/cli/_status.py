"""Exit statuses: one per kind of rejection, found by the exception's stable ``code``."""

from __future__ import annotations

from collections.abc import Iterable

from .. import exceptions as exc
from ..authenticate import DEFAULT_ALGORITHMS, REQUIRED_CLAIMS
from ..forge import DEFAULT_MAX_FIT_LENGTH, FORGE_ISSUER
from ..install import INSTALL_ALGORITHMS, INSTALL_REQUIRED_CLAIMS
from ..tokens import DEFAULT_MAX_TOKEN_LENGTH

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _kib(characters: int) -> str:
    return f"{characters // 1024} KiB" if characters % 1024 == 0 else f"{characters} characters"


_INSTALL_ONLY_CLAIMS = ", ".join(c for c in INSTALL_REQUIRED_CLAIMS if c not in REQUIRED_CLAIMS)

#: Every exit status: ``(status, rejection code or None, meaning)``. Each rejection has its own
#: status, looked up by the exception's stable ``code``; ``rejected`` catches any other.
EXIT_STATUSES: tuple[tuple[int, str | None, str], ...] = (
    (EXIT_OK, None, "success: the token is valid, every check passed, or the output is printed"),
    (EXIT_ERROR, None, "the command could not run: a secret, key or tenant file is unreadable"),
    (EXIT_USAGE, None, "usage error: unknown command or option, missing argument"),
    (3, "key_fetch_failed", "the public key could not be fetched now (not the token's fault)"),
    (10, "token_missing", "no token: none given and no jwt parameter in the URL"),
    (11, "token_malformed", "not a JWT (three base64url segments of JSON), or a bad kid"),
    (
        12,
        "token_too_large",
        f"the token is too long ({_kib(DEFAULT_MAX_TOKEN_LENGTH)}; "
        f"{_kib(DEFAULT_MAX_FIT_LENGTH)} for Forge tokens)",
    ),
    (13, "request_malformed", "the URL cannot be canonicalised (it is not valid text)"),
    (14, "unknown_issuer", "the token's iss is not the tenant the secret belongs to"),
    (
        15,
        "algorithm_not_allowed",
        f"the token's alg is not the pinned one ({', '.join(DEFAULT_ALGORITHMS)}, or "
        f"{', '.join(INSTALL_ALGORITHMS)})",
    ),
    (16, "invalid_signature", "the signature does not verify with the secret or key"),
    (
        17,
        "missing_claim",
        f"a required claim ({', '.join(REQUIRED_CLAIMS)}; {_INSTALL_ONLY_CLAIMS} for RS256) is "
        "missing",
    ),
    (18, "invalid_claim", "a claim has the wrong type (iat not a number, iss not a string)"),
    (19, "token_expired", "exp is in the past, beyond the leeway"),
    (20, "token_not_yet_valid", "iat or nbf is in the future, beyond the leeway"),
    (21, "invalid_audience", "aud is not this app (its base URL, or its Forge app ARI)"),
    (22, "invalid_issuer", f"iss is not the body's clientKey, or not {FORGE_ISSUER}"),
    (23, "qsh_mismatch", "the qsh is not the hash of this request (see explain)"),
    (24, "rejected", "any other rejection (a secret that is not a usable key, say)"),
    (25, "unknown_key", "no public key is known for the token's kid"),
    (26, "token_replayed", "a lifecycle token came again with another body (lifecycle only)"),
    (
        27,
        "forge_context_missing",
        "a Forge invocation has no app.id, app.installationId or app.apiBaseUrl",
    ),
    (
        28,
        "forge_context_invalid",
        "a Forge invocation's context is unusable (app.apiBaseUrl not https, say)",
    ),
    (EXIT_INTERRUPTED, None, "interrupted (Ctrl-C)"),
)

_STATUS_BY_CODE = {code: status for status, code, _ in EXIT_STATUSES if code}


def status_of(code: str | None) -> int:
    """Return the exit status for a rejection ``code`` (``None``: success)."""
    if code is None:
        return EXIT_OK
    return _STATUS_BY_CODE.get(code, _STATUS_BY_CODE["rejected"])


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


def exit_status_help(codes: Iterable[str] | None = None, *, can_fail: bool = True) -> str:
    """The exit statuses as help text: all of them, or success, usage errors and interruption
    with ``codes`` (and 1 if the command ``can_fail`` to read a file)."""
    shown = None if codes is None else {*codes, None}
    lines = ["exit status:"]
    for status, code, meaning in EXIT_STATUSES:
        if shown is not None and (code not in shown or (status == EXIT_ERROR and not can_fail)):
            continue
        lines.append(f"  {status:>3}  {(code or ''):<22}{meaning}")
    return "\n".join(lines) + "\n"
