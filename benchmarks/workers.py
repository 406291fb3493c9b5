"""The processes that time the other implementations: 3.0.0 in its own virtualenv, and Node.

Both are driven the same way, over a pipe, one JSON line each way per command:

``{"op": "setup", "secrets": {...}, "operations": {NAME: {"kind": KIND, "items": [...]}}}``
    the inputs of every operation the worker will time, by name. ``KIND`` is ``hash_url``
    (items: method, URL), ``encode_token`` (method, URL, tenant information),
    ``authenticate`` or ``authenticate_bad`` (method, URL as received, headers; ``secrets``
    maps each client key to its shared secret) or, for Node only, ``outbound_qsh`` (token,
    secret, method, URL, base URL: whether the token's ``qsh`` is the one Node computes).
    The answer carries the versions in use and, under ``answers``, what the worker makes of
    every item: the ``qsh``, the token, or whether the request was accepted.
``{"op": "time", "name": NAME, "chunk": CHUNK}``
    one pass over the operation's items, timed inside the worker as ``timing.time_pass``
    times it: ``{"ns": [...]}``, the nanoseconds of each chunk of ``CHUNK`` items.
``{"op": "best", "method": M, "url": U}``
    (3.0.0 only) the best time of one ``canonicalize_request(M, U)``, for the scaling table.
``{"op": "quit"}``
    ends the worker.

The answers are compared with this library's before anything is timed (:func:`disagreements`),
so that no row times two implementations doing different things.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import jwt
from node_package import NODE_CACHE, NODE_PACKAGE, NODE_VERSION
from timing import CHUNK

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

OLD_VERSION = "3.0.0"
OLD_VENV = HERE / ".venv-old"


class Worker:
    """A worker process, one JSON line each way per command."""

    #: Who the worker is, for messages.
    label = "worker"

    def __init__(self, command: Sequence[str]) -> None:
        self._process = subprocess.Popen(
            list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def ask(self, **command: Any) -> dict[str, Any]:
        stdin, stdout = self._streams()
        stdin.write(json.dumps(command) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.label} worker stopped; see its error output above")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"the {self.label} worker failed: {answer['error']}")
        return answer

    def time(self, name: str) -> list[int]:
        """Time one pass of the worker's operation ``name``; return each chunk's nanoseconds."""
        ns: list[int] = self.ask(op="time", name=name, chunk=CHUNK)["ns"]
        return ns

    def close(self) -> None:
        stdin, stdout = self._streams()
        stdin.write(json.dumps({"op": "quit"}) + "\n")
        stdin.close()
        self._process.wait(timeout=30)
        stdout.close()

    def _streams(self) -> tuple[IO[str], IO[str]]:
        assert self._process.stdin is not None and self._process.stdout is not None
        return self._process.stdin, self._process.stdout


class OldWorker(Worker):
    """The 3.0.0 worker (``old_worker.py``), run by ``python``."""

    label = "3.0.0"

    def __init__(self, python: Path) -> None:
        # -E: no PYTHONPATH, so the worker cannot pick this repository's package up by accident.
        super().__init__([str(python), "-E", "-s", str(HERE / "old_worker.py")])


class NodeWorker(Worker):
    """The Node worker (``node_worker.js``) on the ``atlassian-jwt`` installed in ``folder``."""

    label = "Node"

    def __init__(self, node: str, folder: Path = NODE_CACHE) -> None:
        super().__init__([node, str(HERE / "node_worker.js"), str(folder)])


def ensure_old_venv() -> Path:
    """Create or update ``benchmarks/.venv-old`` with 3.0.0 and this process's PyJWT version."""
    python = OLD_VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    wanted = f"{OLD_VERSION} {jwt.__version__}"
    if not python.exists():
        print(f"creating {OLD_VENV.relative_to(ROOT)} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(OLD_VENV)], check=True)
    installed = subprocess.run(
        [
            str(python),
            "-I",  # isolated: not even the current directory, which holds our egg-info
            "-c",
            "from importlib.metadata import version as v\n"
            "try: print(v('atlassian-jwt'), v('PyJWT'))\n"
            "except Exception: print('none')",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if installed != wanted:
        print(
            f"installing atlassian-jwt=={OLD_VERSION} PyJWT=={jwt.__version__} ...", file=sys.stderr
        )
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"atlassian-jwt=={OLD_VERSION}",
                f"PyJWT=={jwt.__version__}",
            ],
            check=True,
        )
    return python


def check_old_worker(answer: Mapping[str, Any], expected: Expected) -> None:
    """Refuse to compare unless the worker runs 3.0.0 on our PyJWT and agrees on the corpora.

    :raises SystemExit: naming every problem.
    """
    problems = []
    if answer["atlassian_jwt"] != OLD_VERSION or OLD_VENV not in Path(answer["module"]).parents:
        problems.append(f"the worker imports {answer['module']} ({answer['atlassian_jwt']})")
    if answer["pyjwt"] != jwt.__version__:
        problems.append(f"the worker has PyJWT {answer['pyjwt']}, we have {jwt.__version__}")
    if answer["python"] != platform.python_version():
        problems.append(f"the worker runs Python {answer['python']}")
    problems += disagreements(answer["answers"], expected, "3.0.0")
    if problems:
        raise SystemExit("cannot compare: " + "; ".join(problems))


def check_node_worker(answer: Mapping[str, Any], expected: Expected) -> list[str]:
    """Return every way the Node worker differs from what it should be and do.

    :raises SystemExit: if it does not run npm ``atlassian-jwt`` 2.0.3: its times would then
        be another library's.
    """
    version = answer["packages"].get(NODE_PACKAGE)
    if version != NODE_VERSION:
        raise SystemExit(f"cannot compare: Node runs {NODE_PACKAGE} {version}, not {NODE_VERSION}")
    return disagreements(answer["answers"], expected, "Node")


#: What this library expects of one item of a worker's answer: the request (for messages) and
#: either the answer itself or a check returning a problem (``None`` when there is none).
Expected = dict[str, list[tuple[str, Any]]]


def disagreements(answers: Mapping[str, list[Any]], expected: Expected, who: str) -> list[str]:
    """Compare a worker's answers, operation by operation, with this library's.

    :param expected: by operation name, for each item, the request and what this library
        answers (a ``qsh``, or whether the request is accepted) or a check of the worker's
        answer (for the tokens the worker signs). Operations the worker was not given are
        skipped.
    :returns: one message per operation that differs: how many items differ, and the first.
    """
    problems = []
    for name, wanted in expected.items():
        got = answers.get(name)
        if got is None:
            continue
        if len(got) != len(wanted):
            problems.append(f"{who} answered {len(got)} of {len(wanted)} items of {name}")
            continue
        differ = []
        for (request, ours), theirs in zip(wanted, got):
            if callable(ours):
                problem = ours(theirs)
            else:
                problem = None if ours == theirs else f"ours {ours!r}, {who} {theirs!r}"
            if problem is not None:
                differ.append(f"{request}: {problem}")
        if differ:
            problems.append(
                f"{who} differs from this library on {len(differ)} of {len(wanted)} items of "
                f"{name}; the first: {differ[0]}"
            )
    return problems
