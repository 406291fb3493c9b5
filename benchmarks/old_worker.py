"""Times PyPI ``atlassian-jwt`` 3.0.0 for ``run.py``, inside the old package's own virtualenv.

``run.py`` starts this script with ``benchmarks/.venv-old``'s Python and drives it over a pipe:
one JSON command per line on stdin, one JSON answer per line on stdout. The script imports
``atlassian_jwt`` from that environment (3.0.0, never this repository's package) and the
benchmark's own ``timing.py``, so that both implementations are timed by the same loop.

Commands:

``{"op": "setup", ...}``
    the inputs of every operation (see :func:`setup`); answers the versions in use, the
    3.0.0 ``qsh`` of every request and how many valid and bad tokens 3.0.0 accepts.
``{"op": "time", "name": NAME}``
    one timed pass of operation ``NAME``; answers ``{"ns": nanoseconds}``.
``{"op": "best", "method": M, "url": U}``
    the best time of one ``canonicalize_request(M, U)`` call, for the scaling table.
``{"op": "quit"}``
    ends the worker.
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
    """Build the operations from the inputs ``run.py`` sends, and check the old package on them.

    ``command`` holds ``requests`` (method, URL), ``encode`` (method, URL, tenant info),
    ``valid`` and ``bad`` (method, URL as received, headers) and ``secrets`` (client key to
    shared secret).
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
        raise AssertionError("3.0.0 accepted a token with a bad signature")

    valid = [tuple(item) for item in command["valid"]]
    bad = [tuple(item) for item in command["bad"]]
    operations: dict[str, Operation] = {
        "hash_url": (hash_url, [tuple(item) for item in command["requests"]]),
        "encode_token": (encode, [tuple(item) for item in command["encode"]]),
        "authenticate": (authenticator.authenticate, valid),
        "authenticate_bad": (reject, bad),
    }
    accepted = 0
    for item in valid:
        try:
            authenticator.authenticate(*item)
            accepted += 1
        except jwt.DecodeError:
            pass
    rejected = 0
    for item in bad:
        try:
            authenticator.authenticate(*item)
        except jwt.DecodeError:
            rejected += 1
    answer = {
        "python": sys.version.split()[0],
        "atlassian_jwt": version("atlassian-jwt"),
        "pyjwt": jwt.__version__,
        "module": atlassian_jwt.__file__,
        "qsh": [hash_url(*item) for item in command["requests"]],
        "accepted": accepted,
        "rejected": rejected,
    }
    return operations, answer


def main() -> None:
    operations: dict[str, Operation] = {}
    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        if op == "setup":
            operations, answer = setup(command)
        elif op == "time":
            call, items = operations[command["name"]]
            answer = {"ns": time_pass(call, items)}
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
