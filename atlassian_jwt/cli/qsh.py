"""``atlassian-jwt qsh``: a request's canonical request and its hash, the ``qsh`` claim."""

from __future__ import annotations

import argparse
from typing import IO

from ..tokens import rejecting_malformed_url
from ..url_utils import base_path, canonicalize_request, qsh_of
from ._command import Command
from ._inputs import add_base_url_option
from ._output import Output
from ._status import EXIT_OK

__all__ = ["COMMAND"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_base_url_option(parser)
    parser.add_argument("method", metavar="METHOD")
    parser.add_argument("url", metavar="URL", help="the URL as sent, absolute or relative")
    parser.add_argument(
        "--body", metavar="FORM", help="a form-encoded body whose parameters are hashed too"
    )


def run(args: argparse.Namespace, out: Output, stdin: IO[str]) -> int:
    with rejecting_malformed_url():
        canonical = canonicalize_request(
            args.method, args.url, args.base_url, body_params=args.body
        )
        base = base_path(args.base_url)
    qsh = qsh_of(canonical)
    if args.json:
        out.json(
            {
                "method": args.method.upper(),
                "base_path": base,
                "canonical_request": canonical,
                "qsh": qsh,
            }
        )
    else:
        out.print(f"canonical request: {canonical}")
        out.print(f"qsh:               {qsh}")
    return EXIT_OK


COMMAND = Command(
    name="qsh",
    summary="Print the canonical request METHOD&URI&QUERY and its hash, the qsh claim",
    description="Print the canonical request METHOD&URI&QUERY and its hash, the qsh claim.",
    example="atlassian-jwt qsh GET 'https://example.atlassian.net/wiki/rest/api/space?limit=10' "
    "--base-url https://example.atlassian.net/wiki",
    codes=("request_malformed",),
    reads_files=False,
    add_arguments=add_arguments,
    run=run,
)
