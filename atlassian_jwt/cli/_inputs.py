"""What the command reads: arguments, secrets, tenant files, tokens; and the options shared by
several commands.

Secrets come from an environment variable, a file or standard input, never from the command
line, which other users can see in the process list.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
from collections.abc import Mapping
from typing import IO, Any, NoReturn

from .. import exceptions as exc
from ..authenticate import DEFAULT_LEEWAY, Authenticator, request_token
from ..forge import DEFAULT_FORGE_LEEWAY, SYSTEM_TOKEN_HEADER, USER_TOKEN_HEADER
from ..install import DEFAULT_INSTALL_LEEWAY
from ..tokens import rejecting_malformed_url
from ..url_utils import parse_params, split_url
from ._output import JWT_SHAPED, REDACTED, Output, escape_text

#: Where a secret may come from, for messages.
SECRET_OPTIONS = "--secret-env VAR, --secret-file FILE (- for standard input) or --tenant FILE"

#: Headers whose values are credentials for hours (Forge's OAuth tokens): never taken from the
#: command line, which other users can see in the process list.
CREDENTIAL_HEADERS = (SYSTEM_TOKEN_HEADER, USER_TOKEN_HEADER)

#: Where those may come from, for messages.
HEADER_OPTIONS = "--header-env NAME=VAR or --headers-file FILE (- for standard input)"

# An HTTP field name (RFC 9110 token), a request line, an HTTP/2 pseudo-header.
_FIELD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_REQUEST_LINE = re.compile(r"[A-Z]+ \S+ HTTP/\d(\.\d)?")
_PSEUDO_HEADER = re.compile(r":[a-z]+:.*")


class CommandError(Exception):
    """The command cannot run (exit status 1); the message never holds a secret."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose error messages never repeat a token, nor print raw control
    characters."""

    def error(self, message: str) -> NoReturn:
        super().error(escape_text(JWT_SHAPED.sub(REDACTED, message)))


# Argument types.


def positive_int(text: str) -> int:
    """A positive number of seconds."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def leeway_seconds(text: str) -> float:
    """A number of seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be a number of seconds, 0 or more")
    return value


# Options shared by several commands.


def add_base_url_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="base URL (or path) removed from the request path before hashing: the tenant's "
        "baseUrl for calls to the product (Confluence: .../wiki), the app's base URL for calls "
        "to the app",
    )


def add_secret_options(parser: argparse.ArgumentParser) -> None:
    sources = parser.add_mutually_exclusive_group()
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
    parser.add_argument(
        "--issuer", metavar="ISS", help="accept only tokens whose iss is ISS (default: any)"
    )
    parser.add_argument(
        "--leeway",
        type=leeway_seconds,
        metavar="SECONDS",
        help=f"clock skew allowed for exp, iat and nbf (default: the verifier's: "
        f"{DEFAULT_LEEWAY} for request and context tokens, {DEFAULT_INSTALL_LEEWAY} for install "
        f"tokens, {DEFAULT_FORGE_LEEWAY} for Forge tokens)",
    )


def add_header_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument(
        "--headers-file",
        metavar="FILE",
        help="the request's headers (- for stdin): 'Name: value' lines, as a request dump or "
        "a browser's copy shows them; the token is then the Authorization header's, and a "
        "Forge call's x-forge-oauth-* tokens are read (never shown)",
    )
    parser.add_argument(
        "--header",
        action="append",
        metavar="NAME:VALUE",
        help=f"one request header (repeat for more); not {' or '.join(CREDENTIAL_HEADERS)}, "
        f"credentials for hours, which come from {HEADER_OPTIONS}",
    )
    parser.add_argument(
        "--header-env",
        action="append",
        metavar="NAME=VAR",
        help="the request header NAME, from the environment variable VAR (repeat for more)",
    )


def add_context_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-context-qsh",
        action="store_true",
        help="accept context tokens (qsh context-qsh), as routes called from the app's own "
        "front end do",
    )


# Reading.


def read_stdin(stdin: IO[str], prompt: str) -> str:
    if stdin.isatty():
        return getpass.getpass(prompt)
    return stdin.read()


def read_file(path: str, what: str, stdin: IO[str]) -> str:
    """The text of ``path`` (``-``: standard input).

    :raises CommandError: if it cannot be read.
    """
    if path == "-":
        return read_stdin(stdin, f"{what}: ")
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
        raise CommandError(f"cannot read the {what} file {path}: {reason}") from None


def read_secret(args: argparse.Namespace, stdin: IO[str], *, required: bool) -> str | None:
    """The shared secret from ``--secret-env`` or ``--secret-file``; ``None`` with ``--tenant``
    (read by :func:`read_tenant`) or, unless ``required``, without any (else standard input)."""
    if args.secret_env:
        secret = os.environ.get(args.secret_env, "")
        if not secret:
            raise CommandError(f"the environment variable {args.secret_env} is not set or empty")
    elif args.secret_file:
        secret = read_file(args.secret_file, "secret", stdin).rstrip("\r\n")
    elif args.tenant:
        return None
    elif required:
        secret = read_stdin(stdin, "Shared secret: ").rstrip("\r\n")
    else:
        return None
    if not secret:
        raise CommandError("the secret is empty")
    return secret


def read_tenant(path: str, stdin: IO[str]) -> dict[str, str]:
    """Read the ``installed`` callback's JSON: clientKey and sharedSecret, key and baseUrl."""
    text = read_file(path, "tenant", stdin)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
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


def headers_given(args: argparse.Namespace) -> bool:
    """Whether any of the header options was given."""
    return bool(args.headers_file or args.header or args.header_env)


def read_headers(args: argparse.Namespace, stdin: IO[str], out: Output) -> dict[str, str] | None:
    """The request's headers from ``--headers-file``, ``--header`` and ``--header-env``, by
    lower-case name; ``None`` when none of them is given. Credentials among them (the
    ``Authorization`` header's token, the ``x-forge-oauth-*`` tokens) are hidden from the
    output from now on.

    :raises CommandError: for a line that is not a header, a header given twice, a variable
        not set, or a credential given on the command line. No message quotes a value.
    """
    if not headers_given(args):
        return None
    headers: dict[str, str] = {}

    def add(name: str, value: str, where: str) -> None:
        if not _FIELD_NAME.fullmatch(name):
            raise CommandError(f"{where} is not a header: 'Name: value'")
        key = name.lower()
        if key in headers:
            raise CommandError(f"the header {key} is given twice")
        headers[key] = value.strip()

    if args.headers_file:
        text = read_file(args.headers_file, "headers", stdin)
        for number, line in enumerate(_header_lines(text), start=1):
            name, colon, value = line.partition(":")
            add(name if colon else "", value, f"line {number} of the headers file")
    for given in args.header or ():
        name, colon, value = given.partition(":")
        if not colon:
            raise CommandError("--header takes 'NAME: VALUE'")
        if name.strip().lower() in CREDENTIAL_HEADERS:
            raise CommandError(
                f"{name.strip().lower()} carries a credential valid for hours, which other "
                f"users could read on the command line: give it with {HEADER_OPTIONS}"
            )
        add(name.strip(), value, "a --header")
    for given in args.header_env or ():
        name, equals, variable = given.partition("=")
        value = os.environ.get(variable, "") if equals else ""
        if not value:
            raise CommandError(
                f"--header-env {name}: the environment variable {variable or '(none)'} is not "
                "set or empty"
            )
        add(name.strip(), value, "a --header-env")
    for name in ("authorization", *CREDENTIAL_HEADERS):
        if name in headers:
            out.hide(headers[name])
            out.hide(headers[name].rpartition(" ")[2])
    return headers


def _header_lines(text: str) -> list[str]:
    """The header lines of a raw block: a request line first and HTTP/2 pseudo-headers
    skipped, folded lines joined, up to the blank line before a body."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if not line.strip():
            if lines:
                break  # the body, if any, follows
            continue
        if not lines and _REQUEST_LINE.fullmatch(line.strip()):
            continue
        if _PSEUDO_HEADER.fullmatch(line.strip()):
            continue
        if line[0] in " \t" and lines:
            lines[-1] += " " + line.strip()
            continue
        lines.append(line)
    return lines


def split(url: str) -> tuple[str, str]:
    """The path and raw query of ``url``.

    :raises MalformedRequestError: if it is not valid text.
    """
    with rejecting_malformed_url():
        return split_url(url)


def _token_from_text(text: str) -> str:
    """Take the token out of what the user pasted: the token, a header, or a URL with jwt=."""
    text = text.strip()
    if text[:14].lower() == "authorization:":
        text = text[14:].strip()
    parts = text.split()
    if len(parts) == 2 and parts[0].lower() in ("jwt", "bearer"):
        return parts[1]
    if "jwt=" in text and ("?" in text or "&" in text):
        values = parse_params(split(text if "?" in text else "?" + text)[1]).get("jwt", [])
        if len(values) == 1:
            return values[0]
    return text


def read_token(
    value: str | None,
    url: str | None,
    stdin: IO[str],
    out: Output,
    headers: Mapping[str, str] | None = None,
) -> str:
    """Return the token given as an argument (``-``: standard input), else the ``Authorization``
    header's of ``headers``, else the URL's ``jwt``.

    :raises TokenMissingError: if there is none.
    :raises MalformedTokenError: if the URL has more than one ``jwt`` parameter.
    """
    if value == "-":
        value = read_stdin(stdin, "Token: ")
    if value is None and headers and headers.get("authorization"):
        value = headers["authorization"]
    if value is not None:
        token = _token_from_text(value)
    elif url is not None:
        try:
            token = request_token(None, parse_params(split(url)[1]))
        except exc.TokenMissingError:
            token = ""  # said below, with what to do
    else:
        token = ""
    if not token:
        raise exc.TokenMissingError(
            "No token given"
            + (", and the headers have no Authorization" if headers is not None else "")
            + (", and the URL has no jwt parameter" if url is not None else "")
            + " (pass it, or - to read it from standard input)"
        )
    out.hide(token)
    out.hide(token.rpartition(".")[2])
    return token


def stdin_readers(args: argparse.Namespace) -> int:
    """How many of the inputs named on the command line are standard input (``-``)."""
    names = ("secret_file", "tenant", "body_file", "headers_file")
    files = [getattr(args, name, None) for name in names]
    return files.count("-") + (getattr(args, "token", None) == "-")


# The shared secret, as an Authenticator.


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


def hmac_authenticator(
    args: argparse.Namespace, stdin: IO[str], out: Output, *, required: bool
) -> Authenticator | None:
    """Build the authenticator from the secret options, or ``None`` without a secret."""
    secret = read_secret(args, stdin, required=required)
    issuers: set[str] | None = None
    if args.tenant:
        tenant = read_tenant(args.tenant, stdin)
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

