"""``atlassian-jwt decode``: a token's header and claims, **unverified**, made readable."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from typing import IO, Any

from ..explain import time_facts, token_kind
from ..forge import DEFAULT_MAX_FIT_LENGTH
from ..tokens import TIME_CLAIMS, decode_unverified
from ._command import Command
from ._inputs import read_token
from ._output import Output, audience
from ._status import EXIT_OK

__all__ = ["COMMAND"]

UNVERIFIED = "UNVERIFIED: the signature has not been checked; trust none of this"


def decoded(token: str, now: float) -> dict[str, Any]:
    """What ``decode --json`` prints."""
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
        help="the token, an 'Authorization: JWT ...' header, a URL with jwt=, or - for stdin",
    )


def run(args: argparse.Namespace, out: Output, stdin: IO[str]) -> int:
    token = read_token(args.token, None, stdin, out)
    result = decoded(token, time.time())
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
        facts = result["times"].get(name)
        if facts:
            line += f"  ({facts['utc'] + ', ' if facts['utc'] else ''}{facts['relative']})"
        out.print(line)
    return EXIT_OK


COMMAND = Command(
    name="decode",
    summary="Show a token's header and claims, UNVERIFIED",
    description="Show a token's header and claims, UNVERIFIED: times in UTC and relative to now, "
    "aud as a list, and the kind of token (request, context, install or Forge).",
    example='atlassian-jwt decode "$TOKEN"',
    codes=("token_missing", "token_malformed", "token_too_large"),
    reads_files=False,
    add_arguments=add_arguments,
    run=run,
)
