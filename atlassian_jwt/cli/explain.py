"""``atlassian-jwt explain``: which check a token fails for a request, and why.

The explanation is the library's (:func:`atlassian_jwt.explain.explain_token`); this module
only reads the arguments, prints the result and adds what only a command line can say: which
options would let it check more.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import IO, Any

from ..explain import Explanation, explain_token
from ._command import Command
from ._forge import forge_json, forge_lines
from ._inputs import (
    SECRET_OPTIONS,
    add_base_url_option,
    add_context_option,
    add_header_options,
    add_secret_options,
    hmac_authenticator,
    read_headers,
    read_token,
)
from ._output import Output
from ._status import status_of

__all__ = ["COMMAND"]

# What to run to check a signature that a shared secret cannot check, by kind of token.
_VERIFY_HINTS = {
    "install": "atlassian-jwt verify TOKEN --method POST --url URL --app-base-url APP_URL "
    "--key-server production --body-file BODY.json",
    "forge": "atlassian-jwt verify --forge-app-id APP_ID --headers-file HEADERS "
    "(or 'Bearer TOKEN' alone)",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_base_url_option(parser)
    add_secret_options(parser)
    add_context_option(parser)
    parser.add_argument("method", metavar="METHOD")
    parser.add_argument("url", metavar="URL", help="the URL as received")
    parser.add_argument(
        "token",
        metavar="TOKEN",
        nargs="?",
        help="the token (- for stdin); default: the Authorization header of the headers "
        "given, else the jwt parameter of URL",
    )
    parser.add_argument(
        "--body", metavar="FORM", help="the form-encoded body, which the signer may have hashed"
    )
    parser.add_argument(
        "--body-hashed",
        action="store_true",
        help="the route hashes --body with the query (verify --body, include_form_body=True): "
        "then a signer that left it out is looked for",
    )
    add_header_options(
        parser.add_argument_group(
            "the request's headers: for a Forge call, its context is checked as verify_request "
            "checks it, and its x-forge-oauth-* tokens' expiry shown"
        )
    )


def as_json(explanation: Explanation, *, headers_given: bool = False) -> dict[str, Any]:
    """What ``explain --json`` prints."""
    verdict = explanation.verdict
    qsh = explanation.qsh
    forge = explanation.forge
    return {
        "verified": explanation.signature_verified,
        "kind": explanation.kind.name,
        "kind_description": explanation.kind.description,
        "checks": [asdict(check) for check in explanation.checks],
        "qsh": None
        if qsh is None
        else {
            "canonical_request": qsh.canonical_request,
            "expected_qsh": qsh.expected_qsh,
            "token_qsh": qsh.token_qsh,
            "diagnoses": [diagnosis._asdict() for diagnosis in qsh.diagnoses],
        },
        "causes": [asdict(cause) for cause in explanation.causes],
        "forge": None if forge is None else forge_json(forge, headers_given=headers_given),
        "verdict": {
            "valid": verdict.valid,
            "code": verdict.code,
            "message": verdict.message,
            "exit_status": status_of(verdict.code),
        },
    }


def run(args: argparse.Namespace, out: Output, stdin: IO[str]) -> int:
    authenticator = hmac_authenticator(args, stdin, out, required=False)
    headers = read_headers(args, stdin, out)
    token = read_token(args.token, args.url, stdin, out, headers)
    explanation = explain_token(
        args.method,
        args.url,
        token,
        authenticator=authenticator,
        base_url=args.base_url,
        body=args.body,
        body_hashed=args.body_hashed,
        allow_context_qsh=args.allow_context_qsh,
        leeway=args.leeway,
        headers=headers,
    )
    if args.json:
        out.json(as_json(explanation, headers_given=headers is not None))
    else:
        _print(
            explanation,
            out,
            secret_given=authenticator is not None,
            headers_given=headers is not None,
        )
    return status_of(explanation.verdict.code)


def _print(
    explanation: Explanation, out: Output, *, secret_given: bool, headers_given: bool
) -> None:
    kind = explanation.kind.name
    signature = next(check for check in explanation.checks if check.name == "signature")
    if signature.status == "fail":
        out.print(
            "NOT VERIFIED: the signature does not verify with the secret given; trust none of "
            "the claims."
        )
    elif signature.status != "ok" and kind in _VERIFY_HINTS:
        out.print("UNVERIFIED: the signature has not been checked (it needs Atlassian's key).")
    elif signature.status != "ok":
        out.print("UNVERIFIED: the signature has not been checked with a secret.")
    out.print(f"token:      {explanation.kind.description}")
    marks = {"ok": "ok", "fail": "FAIL", "skipped": "--"}
    for check in explanation.checks:
        out.print(f"{check.name:<11} {marks[check.status]:<5} {check.detail}")
        if check is signature and check.status == "skipped":
            if kind in _VERIFY_HINTS:
                out.print(f"{'':<17} check it with: {_VERIFY_HINTS[kind]}")
            elif not secret_given:
                out.print(f"{'':<17} give the secret with {SECRET_OPTIONS}")
    qsh = explanation.qsh
    if qsh and qsh.token_qsh != qsh.expected_qsh:
        out.print(f"  we compute    {qsh.canonical_request}")
        out.print(f"  whose hash is {qsh.expected_qsh}")
        out.print(f"  token's qsh   {qsh.token_qsh}")
        for diagnosis in qsh.diagnoses:
            out.print(f"  likely cause: {diagnosis.description}")
            out.print(f"    [{', '.join(diagnosis.codes)}] hashed {diagnosis.canonical_request}")
    for cause in explanation.causes:
        out.print(f"  likely cause: {cause.description}")
    if explanation.forge is not None:
        for line in forge_lines(explanation.forge, headers_given=headers_given):
            out.print(line)
    verdict = explanation.verdict
    if verdict.valid:
        checked = "" if explanation.signature_verified else " (the signature was not checked)"
        out.print(f"verdict:    valid{checked}")
    else:
        out.print(
            f"verdict:    rejected, {verdict.code} (exit status {status_of(verdict.code)}): "
            f"{verdict.message}"
        )


COMMAND = Command(
    name="explain",
    summary="Say which check a token fails for a request, and why",
    description="Say which check a token fails for a request, and why, with the rules of the "
    "library's own verifiers. For a qsh mismatch, show the canonical request next to the "
    "token's qsh and name the usual mistake that produces it: base path not removed or "
    "removed twice, + versus %20, repeated parameters not merged, names sorted by their "
    "decoded text, a valueless parameter hashed as name=null, path decoded or encoded, "
    "trailing slash kept, the jwt parameter hashed, the wrong method, a form body hashed or "
    "left out. The signature of a request or context token is checked only with the shared "
    "secret; for a wrong secret, the likely cause is named. For a Forge invocation token, "
    "its context, and with the request's headers (--headers-file, --header-env) the context "
    "check of verify_request and the x-forge-oauth-* tokens' expiry.",
    example="atlassian-jwt explain GET 'https://app.example.com/page?a=1' \"$TOKEN\" "
    "--base-url https://app.example.com --secret-env SHARED_SECRET",
    codes=(
        "token_missing",
        "token_malformed",
        "token_too_large",
        "request_malformed",
        "unknown_issuer",
        "algorithm_not_allowed",
        "invalid_signature",
        "missing_claim",
        "invalid_claim",
        "token_expired",
        "token_not_yet_valid",
        "qsh_mismatch",
        "rejected",
        "forge_context_missing",
        "forge_context_invalid",
    ),
    reads_files=True,
    add_arguments=add_arguments,
    run=run,
)
