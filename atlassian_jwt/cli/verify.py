"""``atlassian-jwt verify``: verify a token for a request as the app does.

The library's own verifiers run: the :class:`~atlassian_jwt.Authenticator` for request and
context tokens (HS256, the shared secret), the :class:`~atlassian_jwt.InstallAuthenticator` for
signed install callbacks (RS256, Atlassian's key), the
:class:`~atlassian_jwt.ForgeInvocationVerifier` for Forge invocation tokens.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from typing import IO, Any

from ..explain import forge_facts, time_facts, token_kind
from ..forge import DEFAULT_MAX_FIT_LENGTH, FORGE_JWKS_URLS, ForgeInvocationVerifier
from ..install import InstallAuthenticator
from ..keys import KEY_BASE_URLS, AtlassianKeyProvider, KeyProvider, PublicKey, load_rsa_public_key
from ..tokens import unverified_header
from ._command import Command
from ._forge import forge_json, forge_lines
from ._inputs import (
    CommandError,
    add_base_url_option,
    add_context_option,
    add_header_options,
    add_secret_options,
    hmac_authenticator,
    read_file,
    read_headers,
    read_token,
    stdin_readers,
)
from ._output import Output, audience
from ._status import EXIT_OK, EXIT_STATUSES

__all__ = ["COMMAND"]

#: Where a key server or key set may be: what the verifiers accept.
SERVICE_URL = "https://, or http:// to a loopback address (a test server)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_base_url_option(parser)
    add_secret_options(parser)
    add_context_option(parser)
    parser.add_argument(
        "token",
        metavar="TOKEN",
        nargs="?",
        help="the token (- for stdin); default: the jwt parameter of --url",
    )
    parser.add_argument(
        "--method",
        metavar="METHOD",
        help="the request's method (required, except for Forge tokens)",
    )
    parser.add_argument(
        "--url", metavar="URL", help="the URL as received (required, except for Forge tokens)"
    )
    parser.add_argument(
        "--body", metavar="FORM", help="a form-encoded body whose parameters the signer hashed"
    )
    rs256 = parser.add_argument_group(
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
        "--key-server-url", metavar="URL", help=f"fetch keys from URL/<kid> ({SERVICE_URL})"
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
    forge = parser.add_argument_group("Forge invocation tokens (needs atlassian-jwt[crypto])")
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
    jwks.add_argument("--jwks-url", metavar="URL", help=f"another key set ({SERVICE_URL})")
    add_header_options(forge)


def _mode(args: argparse.Namespace) -> str:
    if args.forge_app_id:
        return "forge"
    if args.key_file or args.key_server or args.key_server_url:
        return "rs256"
    return "hs256"


def check(args: argparse.Namespace) -> str | None:
    """Say what is wrong with a combination of options that argparse cannot express."""
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
            "--headers-file": args.headers_file,
            "--header": args.header,
            "--header-env": args.header_env,
        },
    }
    mode = _mode(args)
    wrong = [
        name for other, names in options.items() if other != mode for name, v in names.items() if v
    ]
    if wrong:
        kind = {"hs256": "an HS256 token", "rs256": "a public key", "forge": "--forge-app-id"}[mode]
        return f"{', '.join(wrong)}: not with {kind}"
    if mode == "forge" and (args.method or args.url):
        return "a Forge invocation token is bound to no request: leave out --method and --url"
    if mode != "forge" and not (args.method and args.url):
        return "--method and --url are required"
    if mode == "rs256" and not args.app_base_url:
        return "--app-base-url is required with a public key"
    if mode == "rs256" and not (args.body_file or args.client_key):
        return "--body-file or --client-key is required with a public key"
    secret_from_stdin = mode == "hs256" and not (args.secret_env or args.secret_file or args.tenant)
    if secret_from_stdin and stdin_readers(args) > 0:
        return "standard input can give only one of the token, the secret and the body"
    return None


class _OneKeyProvider:
    """The public key from ``--key-file``, whatever ``kid`` the token names."""

    def __init__(self, key: PublicKey) -> None:
        self._key = key

    def get_key(self, kid: str) -> PublicKey:
        return self._key


def _install_authenticator(args: argparse.Namespace, stdin: IO[str]) -> InstallAuthenticator:
    """Build the RS256 authenticator from the key options."""
    kwargs: dict[str, Any] = {}
    if args.leeway is not None:
        kwargs["leeway"] = args.leeway
    try:
        provider: KeyProvider
        if args.key_file:
            try:
                key = load_rsa_public_key(read_file(args.key_file, "key", stdin))
            except ValueError as error:
                raise CommandError(f"the key file {args.key_file} is not usable: {error}") from None
            provider = _OneKeyProvider(key)
        elif args.key_server_url:
            provider = AtlassianKeyProvider(base_url=args.key_server_url)
        else:
            provider = AtlassianKeyProvider(args.key_server)
        return InstallAuthenticator(args.app_base_url, key_provider=provider, **kwargs)
    except (ImportError, ValueError) as error:
        raise CommandError(str(error)) from None


def _lifecycle_body(args: argparse.Namespace, stdin: IO[str], out: Output) -> Any:
    """The callback's body from --body-file (hiding its secret), or just --client-key."""
    if args.client_key:
        return {"clientKey": args.client_key}
    text = read_file(args.body_file, "body", stdin)
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


def run(args: argparse.Namespace, out: Output, stdin: IO[str]) -> int:
    client_key: str | None = None
    headers: dict[str, str] | None = None
    mode = _mode(args)
    if mode == "forge":
        forge = _forge_verifier(args)
        headers = read_headers(args, stdin, out)
        token = read_token(args.token, None, stdin, out, headers)
        if headers is None:
            claims = forge.verify(token)
        else:
            # The request as the remote receives it: verify_request also requires the context
            # of the remote contract, and reads the x-forge-oauth-* tokens.
            headers["authorization"] = f"Bearer {token}"
            claims = dict(forge.verify_request(headers).claims)
    elif mode == "rs256":
        installs = _install_authenticator(args, stdin)
        body = _lifecycle_body(args, stdin, out)
        token = read_token(args.token, args.url, stdin, out)
        client_key, claims = installs.authenticate(
            args.method, args.url, {"Authorization": f"JWT {token}"}, body
        )
    else:
        authenticator = hmac_authenticator(args, stdin, out, required=True)
        assert authenticator is not None  # required=True reads a secret or fails
        token = read_token(args.token, args.url, stdin, out)
        client_key, claims = authenticator.authenticate(
            args.method,
            args.url,
            {"Authorization": f"JWT {token}"},
            allow_context_qsh=args.allow_context_qsh,
            body_params=args.body,
        )
    kind = token_kind(unverified_header(token, DEFAULT_MAX_FIT_LENGTH), claims)
    now = time.time()
    expiry = time_facts("exp", claims["exp"], now)
    facts = forge_facts(claims, headers, now=now) if mode == "forge" else None
    if args.json:
        result = {
            "valid": True,
            "kind": kind.name,
            "kind_description": kind.description,
            "client_key": client_key,
            "claims": claims,
            "audience": audience(claims),
            "exp": asdict(expiry),
        }
        if facts is not None:
            result["forge"] = forge_json(facts, headers_given=headers is not None)
        out.json(result)
    else:
        issuer = f"iss {client_key}" if client_key else f"aud {claims['aud']}"
        out.print(f"valid: {kind.description}; {issuer}; {expiry.relative}")
        for line in forge_lines(facts, headers_given=headers is not None) if facts else ():
            out.print(line)
    return EXIT_OK


COMMAND = Command(
    name="verify",
    summary="Verify a token for a request as an app does",
    description="Verify a token for a request as an app does: signature, claims, times and qsh. "
    "Prints one line; the exit status says why it was rejected. HS256 tokens are checked with "
    "the shared secret (without --secret-env, --secret-file or --tenant it is read from "
    "stdin); signed install callbacks (RS256) with --key-file or --key-server, --app-base-url "
    "and --body-file or --client-key; Forge invocation tokens with --forge-app-id, and with "
    "the request's headers (--headers-file, --header-env) as the remote receives them: then "
    "the context the remote contract requires is checked too, and the context and the "
    "x-forge-oauth-* tokens' expiry are shown.",
    example='atlassian-jwt verify "$TOKEN" --method GET --url "$URL" --secret-env SHARED_SECRET',
    codes=tuple(code for _, code, _ in EXIT_STATUSES if code),
    reads_files=True,
    add_arguments=add_arguments,
    run=run,
    check=check,
)
