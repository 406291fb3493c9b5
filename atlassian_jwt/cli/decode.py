"""``atlassian-jwt decode``: a token's header and claims, **unverified**, made readable."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from typing import IO, Any

from ..explain import forge_facts, time_facts, token_kind
from ..forge import DEFAULT_MAX_FIT_LENGTH
from ..tokens import TIME_CLAIMS, decode_unverified
from ._command import Command
from ._forge import forge_json, forge_lines
from ._inputs import add_header_options, read_headers, read_token
from ._output import Output, audience
from ._status import EXIT_OK

__all__ = ["COMMAND"]

UNVERIFIED = "UNVERIFIED: the signature has not been checked; trust none of this"


def decoded(token: str, now: float) -> dict[str, Any]:
    """What ``decode --json`` prints (but ``forge``, which :func:`run` adds)."""
    header, claims = decode_unverified(token, DEFAULT_MAX_FIT_LENGTH)
    kind = token_kind(header, claims)
    times = {
        name: asdict(time_facts(name, claims[name], now))
        for name in TIME_CLAIMS
        if name in claims
    }
    return {
        "verified": False,
        "warning": UNVERIFIED,
        "kind": kind.name,
        "kind_description": kind.description,
        "header": header,
        "claims": claims,
        "audience": audience(claims),
        "times": times,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "token",
        metavar="TOKEN",
        nargs="?",
        help="the token, an 'Authorization: JWT ...' header, a URL with jwt=, or - for stdin; "
        "default: the Authorization header of the headers given",
    )
    add_header_options(parser.add_argument_group("the request's headers (a Forge call's)"))


def run(args: argparse.Namespace, out: Output, stdin: IO[str]) -> int:
    headers = read_headers(args, stdin, out)
    token = read_token(args.token, None, stdin, out, headers)
    now = time.time()
    result = decoded(token, now)
    # A Forge invocation token: its context and, given the headers, its OAuth tokens' expiry.
    facts = forge_facts(result["claims"], headers, now=now) if result["kind"] == "forge" else None
    if facts is not None:
        result["forge"] = forge_json(facts, headers_given=headers is not None)
    if args.json:
        out.json(result)
        return EXIT_OK
    out.print(f"{UNVERIFIED}.")
    out.print(f"kind:   {result['kind_description']}")
    out.print(f"header: {json.dumps(result['header'], ensure_ascii=False)}")
    out.print("claims:")
    for name, value in result["claims"].items():
        if name == "aud":
            value = result["audience"]
        line = f"  {name}: {json.dumps(value, ensure_ascii=False)}"
        timing = result["times"].get(name)
        if timing:
            line += f"  ({timing['utc'] + ', ' if timing['utc'] else ''}{timing['relative']})"
        out.print(line)
    if facts is not None:
        for line in forge_lines(facts, headers_given=headers is not None):
            out.print(line)
    return EXIT_OK


COMMAND = Command(
    name="decode",
    summary="Show a token's header and claims, UNVERIFIED",
    description="Show a token's header and claims, UNVERIFIED: times in UTC and relative to now, "
    "aud as a list, and the kind of token (request, context, install or Forge). For a Forge "
    "invocation token, its context (app, installation, environment, module, principal, API "
    "base URL, site) and, given the request's headers, when its x-forge-oauth-* tokens "
    "expire (never the tokens).",
    example='atlassian-jwt decode "$TOKEN"',
    codes=("token_missing", "token_malformed", "token_too_large"),
    reads_files=False,
    add_arguments=add_arguments,
    run=run,
)
