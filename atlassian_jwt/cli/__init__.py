"""The ``atlassian-jwt`` command: compute a ``qsh``, read, verify, sign and explain tokens.

Every command is a thin layer over the library, in a module of its own (``qsh``, ``decode``,
``verify``, ``sign``, ``explain``) that declares its arguments, its run function and the exit
statuses it can return (a ``Command``): it parses arguments and
prints, and never re-implements a rule. :mod:`~atlassian_jwt.url_utils` builds canonical
requests, :func:`~atlassian_jwt.tokens.decode_unverified` reads tokens, the verifiers verify,
:func:`~atlassian_jwt.encode_token` signs and :func:`~atlassian_jwt.explain.explain_token`
explains.

Secrets are read from an environment variable, a file or standard input, never from the command
line (which other users can see in the process list). Every line written passes through one
filter (``Output``) that removes the secret and the token it was
given and escapes control characters, which a token may carry to forge output.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from typing import IO, Any

from .. import __version__
from .. import exceptions as exc
from . import decode, explain, qsh, sign, verify
from ._command import Command
from ._inputs import SECRET_OPTIONS, CommandError, Parser, stdin_readers
from ._output import Output
from ._status import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_STATUSES,
    exit_status,
    exit_status_help,
)

__all__ = ["EXIT_STATUSES", "build_parser", "exit_status", "main"]

#: The commands, in the order the help lists them.
COMMANDS: tuple[Command, ...] = (
    qsh.COMMAND,
    decode.COMMAND,
    verify.COMMAND,
    sign.COMMAND,
    explain.COMMAND,
)

_EXAMPLES = """\
examples:
  atlassian-jwt qsh GET 'https://example.atlassian.net/wiki/rest/api/space?limit=10' \\
      --base-url https://example.atlassian.net/wiki
  atlassian-jwt decode "$TOKEN"
  atlassian-jwt decode --json - < token.txt
  atlassian-jwt decode --headers-file forge-request-headers.txt
  atlassian-jwt verify "$TOKEN" --method GET --url '/installed?x=1' --secret-env SHARED_SECRET
  atlassian-jwt sign GET https://example.atlassian.net/rest/api/3/myself \\
      --tenant tenant.json --header
  atlassian-jwt explain GET 'https://app.example.com/page?a=1' "$TOKEN" --secret-file secret.txt
"""


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """Return the ``atlassian-jwt`` argument parser."""
    formatter = argparse.RawDescriptionHelpFormatter
    common = Parser(add_help=False)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    parser = Parser(
        prog=prog,
        allow_abbrev=False,
        description="Compute qsh values, and read, verify, sign and explain Atlassian Connect "
        "JWTs. Secrets come from a variable, a file or standard input, never from the command "
        "line, and no secret or whole token is ever printed (except the token sign makes).",
        epilog=_EXAMPLES + "\n" + exit_status_help(),
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for command in COMMANDS:
        sub = commands.add_parser(
            command.name,
            parents=[common],
            help=command.summary,
            description=command.description,
            epilog=f"example:\n  {command.example}\n\n"
            + exit_status_help(command.codes, can_fail=command.reads_files),
            formatter_class=formatter,
            allow_abbrev=False,
        )
        command.add_arguments(sub)
        sub.set_defaults(command=command, parser=sub)
    return parser


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
    :param stdin: where ``-`` reads from (default: ``sys.stdin``).
    :param stdout: where results go (default: ``sys.stdout``).
    :param stderr: where errors go (default: ``sys.stderr``).
    """
    parser = build_parser(prog)
    args, unknown = parser.parse_known_args(argv)
    command: Command = args.command
    if unknown:
        args.parser.error(_unrecognized(args, unknown))
    problem = command.check(args)
    if problem:
        args.parser.error(problem)
    if stdin_readers(args) > 1:
        args.parser.error("standard input can give only one of the token, the secret and the body")
    out = Output(stdout or sys.stdout, stderr or sys.stderr)
    # Warnings (PyJWT's about a short HMAC key, say) become one line each, filtered too.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            status = command.run(args, out, stdin or sys.stdin)
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


def _unrecognized(args: argparse.Namespace, unknown: list[str]) -> str:
    """Name the arguments argparse did not take, without their values (a misplaced secret or
    token may be among them), and say how a secret is given where one may be."""
    names = [arg.partition("=")[0] if arg.startswith("-") else "..." for arg in unknown]
    message = f"unrecognized arguments: {' '.join(names)} (values not shown)"
    takes_secret = hasattr(args, "secret_env")  # the command has the secret options
    if takes_secret and any(
        not name.startswith("-") or "secret" in name or "password" in name for name in names
    ):
        message += (
            f"; a secret is never an argument, which other users can see: give it with "
            f"{SECRET_OPTIONS}"
        )
    elif any("secret" in name for name in names):
        message += "; a secret is never an argument: this command reads it from --tenant FILE"
    return message


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
