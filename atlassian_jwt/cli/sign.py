"""``atlassian-jwt sign``: sign a call from the app to the product, as ``encode_token`` does."""

from __future__ import annotations

import argparse
from typing import IO

from ..encode import DEFAULT_LIFETIME, encode_token
from ..tokens import decode_unverified, rejecting_malformed_url
from ..url_utils import canonicalize_request
from ._command import Command
from ._inputs import positive_int, read_tenant
from ._output import Output
from ._status import EXIT_OK

__all__ = ["COMMAND"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("method", metavar="METHOD")
    parser.add_argument("url", metavar="URL")
    parser.add_argument(
        "--tenant",
        required=True,
        metavar="FILE",
        help="the installed-callback JSON: clientKey, sharedSecret, key, baseUrl (- for stdin)",
    )
    parser.add_argument(
        "--lifetime",
        type=positive_int,
        default=DEFAULT_LIFETIME,
        metavar="SECONDS",
        help=f"token lifetime (default {DEFAULT_LIFETIME})",
    )
    parser.add_argument("--sub", metavar="ACCOUNT_ID", help="the acting user's account id")
    parser.add_argument(
        "--header", action="store_true", help="print the whole 'Authorization: JWT ...' header"
    )


def run(args: argparse.Namespace, out: Output, stdin: IO[str]) -> int:
    tenant = read_tenant(args.tenant, stdin)
    out.hide(tenant["sharedSecret"])
    with rejecting_malformed_url():
        token = encode_token(
            args.method,
            args.url,
            timeout_secs=args.lifetime,
            payload_kwargs={"sub": args.sub} if args.sub else None,
            **tenant,
        )
        canonical = canonicalize_request(args.method, args.url, tenant.get("baseUrl"))
    header = f"JWT {token}"
    if args.json:
        result = {
            "token": token,
            "authorization": header,
            "canonical_request": canonical,
            "claims": decode_unverified(token)[1],
        }
        out.json(result, keep_tokens=True)
    else:
        out.token(f"Authorization: {header}" if args.header else token)
    return EXIT_OK


COMMAND = Command(
    name="sign",
    summary="Sign a call from the app to the product with a tenant's shared secret",
    description="Sign a call from the app to the product with a tenant's shared secret, as "
    "encode_token does: iss is the app key, the qsh is relative to the tenant's baseUrl.",
    example='curl -H "$(atlassian-jwt sign GET "$URL" --tenant tenant.json --header)" "$URL"',
    codes=("request_malformed",),
    reads_files=True,
    add_arguments=add_arguments,
    run=run,
)
