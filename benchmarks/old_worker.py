"""Times PyPI ``atlassian-jwt`` 3.0.0 for ``run.py``, inside the old package's own virtualenv.

``run.py`` starts this script with ``benchmarks/.venv-old``'s Python and drives it over a pipe:
one JSON command per line on stdin, one JSON answer per line on stdout. The script imports
``atlassian_jwt`` from that environment (3.0.0, never this repository's package) and the
benchmark's own ``timing.py``, so that both implementations are timed by the same loop.

The commands and answers are those of every worker (see ``workers.py``): ``setup`` with the
operations to time, ``time`` for one pass of one, ``best`` for the scaling table, ``quit``.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from typing import Any, Callable

import jwt
from timing import best_time, time_pass

import atlassian_jwt
from atlassian_jwt.url_utils import canonicalize_request, hash_url

Operation = tuple[Callable[..., Any], list[tuple[Any, ...]]]


class _StoreAuthenticator(atlassian_jwt.Authenticator):
    """The subclass a 3.0.0 app writes: secrets looked up in a dict."""

    def __init__(self, secrets: dict[str, str]) -> None:
        super().__init__()
        self.secrets = secrets

    def get_shared_secret(self, client_key: str) -> str | None:
        return self.secrets.get(client_key)


def setup(command: dict[str, Any]) -> tuple[dict[str, Operation], dict[str, Any]]:
    """Build the operations from the inputs ``run.py`` sends, and answer for every item.

    ``command["operations"]`` maps each operation's name to its kind and items (see
    ``workers.py``); ``command["secrets"]`` maps client keys to shared secrets.
    """
    authenticator = _StoreAuthenticator(command["secrets"])

    def encode(method: str, url: str, info: dict[str, Any]) -> str:
        token: str = atlassian_jwt.encode_token(method, url, **info)
        return token

    def reject(method: str, url: str, headers: dict[str, str]) -> None:
        try:
            authenticator.authenticate(method, url, headers)
        except jwt.DecodeError:
            return
        raise AssertionError("3.0.0 accepted a token that it should reject")

    def accepted(method: str, url: str, headers: dict[str, str]) -> bool:
        try:
            authenticator.authenticate(method, url, headers)
        except jwt.DecodeError:
            return False
        return True

    # By kind: what is timed, and what is answered for each item.
    kinds: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
        "hash_url": (hash_url, hash_url),
        "encode_token": (encode, encode),
        "authenticate": (authenticator.authenticate, accepted),
        "authenticate_bad": (reject, accepted),
    }
    operations: dict[str, Operation] = {}
    answers: dict[str, list[Any]] = {}
    for name, operation in command["operations"].items():
        timed, answer = kinds[operation["kind"]]
        items = [tuple(item) for item in operation["items"]]
        operations[name] = (timed, items)
        answers[name] = [answer(*item) for item in items]
    return operations, {
        "python": sys.version.split()[0],
        "atlassian_jwt": version("atlassian-jwt"),
        "pyjwt": jwt.__version__,
        "module": atlassian_jwt.__file__,
        "answers": answers,
    }


def main() -> None:
    operations: dict[str, Operation] = {}
    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        if op == "setup":
            operations, answer = setup(command)
        elif op == "time":
            call, items = operations[command["name"]]
            answer = {"ns": time_pass(call, items, command["chunk"])}
        elif op == "best":
            answer = {"ns": best_time(canonicalize_request, (command["method"], command["url"]))}
        elif op == "quit":
            return
        else:
            answer = {"error": f"unknown op {op!r}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
