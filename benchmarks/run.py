"""Benchmark this library against PyPI ``atlassian-jwt`` 3.0.0 and PyJWT, and check the targets.

Run it from a checkout (it needs pip and PyPI the first time)::

    python benchmarks/run.py

What it does:

1. It makes ``benchmarks/.venv-old`` (once), a virtualenv of the same Python with
   ``atlassian-jwt==3.0.0`` and the PyJWT version this process imports, and starts
   ``old_worker.py`` there: a long-lived process that imports only the old package and that
   this script drives over a pipe, one JSON line per command. The two packages share a
   distribution and import name, so they cannot live in one interpreter without renaming one;
   a worker times the old package exactly as its users run it, on the same PyJWT.
2. It builds a few hundred distinct, realistic requests (``corpus.py``: Jira and Confluence
   REST calls, iframe loads with ``lic``/``tz``/``cp``/``xdm_e``/``jwt``, webhooks; repeated
   parameters, spaces, unicode), signs them as the product does (valid tokens, and tokens
   signed with another secret), and checks that both packages compute the same ``qsh`` for
   every one, accept every valid token and reject every bad one. No request repeats, so no
   cache could serve one.
3. For each operation and each of ``--rounds`` rounds, it times one pass over the whole
   corpus for each implementation: this package here, 3.0.0 in the worker (both with
   ``timing.time_pass``: ``time.perf_counter_ns`` around the loop, the garbage collector
   paused) and, where there is a PyJWT baseline, PyJWT here. The order of the implementations
   alternates from round to round. A row reports the fastest round's time divided by the
   number of requests: microseconds per call. The fastest round is the one least disturbed by
   other processes, as :mod:`timeit` advises; ``--stat median`` reports the median instead.
4. It times canonicalisation alone for 10 to 10,000 parameters, for 100 B to 64 KiB paths
   and for a 64 KiB query (the best of several batches for each size), for both packages.

The PyJWT baselines: ``jwt.encode(claims, secret, algorithm="HS256")`` of exactly the claims
``encode_token`` signs, and PyJWT's bare decode, ``jwt.decode(token, secret,
algorithms=["HS256"])``, of exactly the tokens ``authenticate`` verifies. Those tokens are made
as Jira and Confluence make them (``iss``, ``sub``, ``iat``, ``exp``, ``qsh``, ``context``; no
``aud``), so the bare decode accepts them as they are. ``authenticate`` does everything that
decode does (signature, ``exp``, ``iat``) and more: it finds the token in the request, reads
``iss`` to look up the secret, requires four claims and checks the ``qsh``.

Two rows without a target, "new tenant", give every request a tenant (and a secret) of its own
and empty the library's prepared-key cache before each pass: every call then pays for having
PyJWT check its secret, as a tenant's first request does, where the other rows show the
requests after it.

The targets (issue 6), printed with PASS or FAIL:

- ``hash_url``: at most 0.4 times 3.0.0's time;
- ``authenticate`` of a valid request: at most 0.3 times 3.0.0's, and at most 1.25 times
  PyJWT's bare decode of the same token;
- ``encode_token``: at most 1.5 times PyJWT's ``jwt.encode`` of the same claims;
- ``authenticate`` with a bad signature: no slower than with a valid token;
- canonicalisation: from each size to the next, time grows by at most 1.5 times what n log n
  growth allows; a 64 KiB URL, whether a 64 KiB path or a 64 KiB query, takes less than 50 ms.

The exit status is 1 when a target fails. The machine's load moves the numbers by several per
cent from run to run; the ratios, taken within one run, move much less.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Measure this checkout's package, whatever else is installed.
sys.path.insert(0, str(ROOT))

import corpus  # noqa: E402
import jwt  # noqa: E402
from timing import best_time, time_pass  # noqa: E402

import atlassian_jwt  # noqa: E402
from atlassian_jwt.url_utils import canonicalize_request, hash_url  # noqa: E402

#: How the rounds of a row become one number: the fastest (default) or the median.
STATISTICS: dict[str, Callable[[list[float]], float]] = {"min": min, "median": statistics.median}

OLD_VERSION = "3.0.0"
OLD_VENV = HERE / ".venv-old"

Items = list[tuple[Any, ...]]


class OldWorker:
    """The 3.0.0 worker process (``old_worker.py``), one JSON line each way per command."""

    def __init__(self, python: Path) -> None:
        # -E: no PYTHONPATH, so the worker cannot pick this repository's package up by accident.
        self._process = subprocess.Popen(
            [str(python), "-E", "-s", str(HERE / "old_worker.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, **command: Any) -> dict[str, Any]:
        stdin, stdout = self._streams()
        stdin.write(json.dumps(command) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeError("the 3.0.0 worker stopped; see its error output above")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"the 3.0.0 worker failed: {answer['error']}")
        return answer

    def time(self, name: str) -> int:
        """Time one pass of the old package's operation ``name``; return nanoseconds."""
        ns: int = self.ask(op="time", name=name)["ns"]
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


class StoreAuthenticator(atlassian_jwt.Authenticator):
    """The subclass an app writes: secrets looked up in a dict."""

    def __init__(self, secrets: dict[str, str]) -> None:
        super().__init__()
        self.secrets = secrets

    def get_shared_secret(self, client_key: str) -> str | None:
        return self.secrets.get(client_key)


class Row:
    """One operation: what each implementation calls, on which inputs, and the times taken."""

    #: How the rounds become one number; see :data:`STATISTICS`.
    statistic: Callable[[list[float]], float] = min

    def __init__(
        self,
        name: str,
        ours: tuple[Callable[..., Any], Items],
        old: str | None,
        pyjwt: tuple[Callable[..., Any], Items] | None = None,
        before: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.ours = ours
        self.old = old
        self.pyjwt = pyjwt
        #: Called before each of our passes, untimed.
        self.before = before
        self.ns: dict[str, list[float]] = {"ours": [], "old": [], "pyjwt": []}

    def time_round(self, worker: OldWorker | None, round_number: int) -> None:
        """Time one pass of each implementation, in an order that alternates by round."""
        passes: list[tuple[str, Callable[[], int]]] = [("ours", self._time_ours)]
        if self.old is not None and worker is not None:
            passes.append(("old", partial(worker.time, self.old)))
        if self.pyjwt is not None:
            passes.append(("pyjwt", partial(time_pass, *self.pyjwt)))
        if round_number % 2:
            passes.reverse()
        count = len(self.ours[1])
        for who, run in passes:
            self.ns[who].append(run() / count)

    def _time_ours(self) -> int:
        if self.before is not None:
            self.before()
        return time_pass(*self.ours)

    def us(self, who: str) -> float | None:
        """Microseconds per call (see :attr:`statistic`), or None if not timed."""
        times = self.ns[who]
        return Row.statistic(times) / 1000 if times else None


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


def build_rows(size: int) -> tuple[list[Row], dict[str, Any], dict[str, Any]]:
    """Build the corpus, the inputs of every row, and the setup command for the worker.

    :returns: the rows, the worker's setup command, and facts to check against its answer.
    """
    tenants = corpus.build_tenants()
    requests = corpus.build_corpus(size)
    secrets = {tenant.client_key: tenant.shared_secret for tenant in tenants}
    now = int(time.time())

    def sign(claims: dict[str, Any], secret: str) -> str:
        return jwt.encode(claims, secret, algorithm="HS256")

    valid_tokens = corpus.sign_incoming(requests, tenants, hash_url, sign, now)
    bad_tokens = corpus.sign_incoming(
        requests, tenants, hash_url, sign, now, secret_for=lambda t: t.shared_secret[::-1]
    )
    valid: Items = []
    bad: Items = []
    for request, good_token, bad_token in zip(requests, valid_tokens, bad_tokens):
        valid.append((request.method, *request.received(good_token)))
        bad.append((request.method, *request.received(bad_token)))

    plain: Items = [(request.method, request.url) for request in requests]
    encode_args: Items = [
        (request.method, request.url, tenants[request.tenant].info()) for request in requests
    ]
    # Exactly the claims encode_token signs, for PyJWT's jwt.encode.
    claims: Items = []
    for request in requests:
        tenant = tenants[request.tenant]
        payload = {
            "iss": corpus.APP_KEY,
            "iat": now,
            "exp": now + atlassian_jwt.DEFAULT_LIFETIME,
            "qsh": hash_url(request.method, request.url, tenant.base_url),
            "aud": tenant.client_key,
        }
        claims.append((payload, tenant.shared_secret))
    decode_args: Items = [
        (token, tenants[request.tenant].shared_secret)
        for request, token in zip(requests, valid_tokens)
    ]

    authenticator = StoreAuthenticator(secrets)

    def encode(method: str, url: str, info: dict[str, Any]) -> str:
        return atlassian_jwt.encode_token(method, url, **info)

    def reject(method: str, url: str, headers: dict[str, str]) -> None:
        try:
            authenticator.authenticate(method, url, headers)
        except atlassian_jwt.InvalidSignatureError:
            return
        raise AssertionError("a token with a bad signature was accepted")

    def pyjwt_encode(payload: dict[str, Any], secret: str) -> str:
        return jwt.encode(payload, secret, algorithm="HS256")

    def pyjwt_decode(token: str, secret: str) -> dict[str, Any]:
        decoded: dict[str, Any] = jwt.decode(token, secret, algorithms=["HS256"])
        return decoded

    rows = [
        Row("hash_url", (hash_url, plain), "hash_url"),
        Row("encode_token", (encode, encode_args), "encode_token", (pyjwt_encode, claims)),
        Row(
            "authenticate (valid)",
            (authenticator.authenticate, valid),
            "authenticate",
            (pyjwt_decode, decode_args),
        ),
        Row("authenticate (bad signature)", (reject, bad), "authenticate_bad"),
    ]
    # The floors: the two steps no implementation can skip, canonicalising the request and
    # PyJWT's own call, one after the other with nothing else. Against PyJWT alone they show
    # how much of a row's ratio is this package's own code.
    floor_encode: Items = [
        (request.method, request.url, tenants[request.tenant].base_url, payload, secret)
        for request, (payload, secret) in zip(requests, claims)
    ]
    floor_decode: Items = [
        (request.method, request.url, token, secret)
        for request, (token, secret) in zip(requests, decode_args)
    ]

    def hash_then_encode(
        method: str, url: str, base: str, payload: dict[str, Any], secret: str
    ) -> str:
        hash_url(method, url, base)
        return jwt.encode(payload, secret, algorithm="HS256")

    def hash_then_decode(method: str, url: str, token: str, secret: str) -> dict[str, Any]:
        hash_url(method, url)
        decoded: dict[str, Any] = jwt.decode(token, secret, algorithms=["HS256"])
        return decoded

    rows += [
        Row(
            "floor: hash_url, jwt.encode",
            (hash_then_encode, floor_encode),
            None,
            (pyjwt_encode, claims),
        ),
        Row(
            "floor: hash_url, jwt.decode",
            (hash_then_decode, floor_decode),
            None,
            (pyjwt_decode, decode_args),
        ),
    ]
    rows += build_cold_rows(requests, now, pyjwt_encode, pyjwt_decode)
    setup = {
        "op": "setup",
        "requests": plain,
        "encode": encode_args,
        "valid": valid,
        "bad": bad,
        "secrets": secrets,
    }
    expected = {"qsh": [hash_url(method, url) for method, url in plain], "count": len(requests)}
    return rows, setup, expected


def build_cold_rows(
    requests: list[corpus.Request],
    now: int,
    pyjwt_encode: Callable[..., str],
    pyjwt_decode: Callable[..., dict[str, Any]],
) -> list[Row]:
    """Rows where every request comes from a tenant not seen before: no target, for the record.

    This library has PyJWT prepare (check) each tenant's secret once, not on every call as
    ``jwt.encode`` and ``jwt.decode`` do; the cache is emptied before each of these passes, so
    that every call pays for preparing its secret, as the first request of a tenant does.
    """
    from atlassian_jwt import tokens

    # One tenant per request, of the request's product (even tenants are Jira sites).
    pool = corpus.build_tenants(2 * len(requests), seed=7)
    tenants = [pool[2 * index + request.tenant % 2] for index, request in enumerate(requests)]
    as_own = [request._replace(tenant=index) for index, request in enumerate(requests)]
    valid_tokens = corpus.sign_incoming(as_own, tenants, hash_url, pyjwt_encode, now)
    authenticator = StoreAuthenticator({t.client_key: t.shared_secret for t in tenants})
    valid: Items = [
        (request.method, *request.received(token)) for request, token in zip(as_own, valid_tokens)
    ]
    decode_args: Items = [
        (token, tenant.shared_secret) for tenant, token in zip(tenants, valid_tokens)
    ]
    encode_args: Items = [
        (request.method, request.url, tenants[index].info()) for index, request in enumerate(as_own)
    ]
    claims: Items = [
        (
            {
                "iss": corpus.APP_KEY,
                "iat": now,
                "exp": now + atlassian_jwt.DEFAULT_LIFETIME,
                "qsh": hash_url(request.method, request.url, tenants[index].base_url),
                "aud": tenants[index].client_key,
            },
            tenants[index].shared_secret,
        )
        for index, request in enumerate(as_own)
    ]

    def encode(method: str, url: str, info: dict[str, Any]) -> str:
        return atlassian_jwt.encode_token(method, url, **info)

    forget = tokens._prepared.clear  # noqa: SLF001 - the benchmark empties the key cache
    return [
        Row(
            "encode_token (new tenant)", (encode, encode_args), None, (pyjwt_encode, claims), forget
        ),
        Row(
            "authenticate (new tenant)",
            (authenticator.authenticate, valid),
            None,
            (pyjwt_decode, decode_args),
            forget,
        ),
    ]


def build_install_row(size: int) -> Row | None:
    """The signed-install row: ``InstallAuthenticator`` with a cached key, against PyJWT.

    Returns ``None`` without ``cryptography`` (the ``crypto`` extra), which RS256 needs. Each
    callback is a distinct tenant's; the key is loaded once, as a key provider caches it, and
    PyJWT's baseline gets the same loaded key, ``jwt.decode(token, key, algorithms=["RS256"],
    audience=app_base_url)`` (install tokens carry an ``aud``, which PyJWT then insists on).
    """
    try:
        from cryptography.hazmat.primitives.asymmetric import rsa
    except ImportError:
        return None
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_key = private_key.public_key()
    installs = atlassian_jwt.InstallAuthenticator(
        corpus.APP_BASE_URL,
        key_provider=atlassian_jwt.StaticKeyProvider({corpus.INSTALL_KID: public_key}),
    )
    now = int(time.time())
    ours: Items = []
    baseline: Items = []
    for install in corpus.build_installs(size):
        claims = install.claims(hash_url("POST", install.url), now)
        token = jwt.encode(
            claims, private_key, algorithm="RS256", headers={"kid": corpus.INSTALL_KID}
        )
        ours.append(("POST", install.url, {"Authorization": f"JWT {token}"}, install.body))
        baseline.append((token, public_key))

    def pyjwt_decode(token: str, key: Any) -> dict[str, Any]:
        decoded: dict[str, Any] = jwt.decode(
            token, key, algorithms=["RS256"], audience=corpus.APP_BASE_URL
        )
        return decoded

    return Row(
        "install (RS256, cached key)", (installs.authenticate, ours), None, (pyjwt_decode, baseline)
    )


def check_worker(answer: dict[str, Any], expected: dict[str, Any]) -> None:
    """Refuse to compare unless the worker runs 3.0.0 on our PyJWT and agrees on the corpus."""
    problems = []
    if answer["atlassian_jwt"] != OLD_VERSION or OLD_VENV not in Path(answer["module"]).parents:
        problems.append(f"the worker imports {answer['module']} ({answer['atlassian_jwt']})")
    if answer["pyjwt"] != jwt.__version__:
        problems.append(f"the worker has PyJWT {answer['pyjwt']}, we have {jwt.__version__}")
    if answer["python"] != platform.python_version():
        problems.append(f"the worker runs Python {answer['python']}")
    differ = sum(ours != old for ours, old in zip(expected["qsh"], answer["qsh"]))
    if differ:
        problems.append(f"3.0.0 computes another qsh for {differ} requests")
    if answer["accepted"] != expected["count"] or answer["rejected"] != expected["count"]:
        problems.append(
            f"3.0.0 accepted {answer['accepted']} valid and rejected {answer['rejected']} bad "
            f"tokens of {expected['count']}"
        )
    if problems:
        raise SystemExit("cannot compare: " + "; ".join(problems))


def targets(rows: list[Row]) -> list[tuple[str, float, float]]:
    """Return ``(target, measured, limit)`` for each target of the first table that was timed."""
    by_name = {row.name: row for row in rows}

    def ratio(name: str, who: str, other: str | None = None) -> float | None:
        mine = by_name[name].us("ours")
        theirs = by_name[other].us("ours") if other else by_name[name].us(who)
        return mine / theirs if mine and theirs else None

    checks = [
        ("hash_url / 3.0.0", ratio("hash_url", "old"), 0.4),
        ("authenticate (valid) / 3.0.0", ratio("authenticate (valid)", "old"), 0.3),
        ("authenticate (valid) / PyJWT decode", ratio("authenticate (valid)", "pyjwt"), 1.25),
        ("encode_token / PyJWT encode", ratio("encode_token", "pyjwt"), 1.5),
        (
            "bad signature / valid",
            ratio("authenticate (bad signature)", "ours", other="authenticate (valid)"),
            1.0,
        ),
    ]
    if "install (RS256, cached key)" in by_name:
        checks.append(
            (
                "install / PyJWT RS256 decode",
                ratio("install (RS256, cached key)", "pyjwt"),
                1.2,
            )
        )
    return [(name, measured, limit) for name, measured, limit in checks if measured is not None]


def scaling(worker: OldWorker | None) -> tuple[list[list[str]], list[tuple[str, float, float]]]:
    """Time canonicalisation by size; return the table and its targets."""
    table = []
    times: dict[str, list[tuple[int, float]]] = {"params": [], "path": [], "query": []}
    for series, n, url in corpus.scaling_cases():
        ours = best_time(canonicalize_request, ("GET", url))
        old = worker.ask(op="best", method="GET", url=url)["ns"] if worker else None
        times[series].append((n, ours))
        label = {
            "params": f"{n:,} parameters",
            "path": f"{_size(n)} path",
            "query": f"{_size(len(url))} URL, {n:,} parameters",
        }[series]
        table.append(
            [
                label,
                _size(len(url)),
                f"{ours / 1e6:.3f}",
                f"{old / 1e6:.3f}" if old else "-",
                f"{ours / old:.2f}" if old else "-",
                f"{ours / n:.1f}",
            ]
        )
    checks = []
    for series, unit in (("params", "parameters"), ("path", "path bytes")):
        points = times[series]
        worst = 0.0
        for (n1, t1), (n2, t2) in zip(points, points[1:]):
            # The growth from n1 to n2 that time proportional to n log n would show.
            allowed = (n2 * math.log(n2)) / (n1 * math.log(n1))
            worst = max(worst, (t2 / t1) / allowed)
        checks.append((f"growth with {unit} / n log n", worst, 1.5))
    largest = max(times["path"][-1][1], times["query"][-1][1])
    checks.append(("64 KiB URL, path or query (ms)", largest / 1e6, 50.0))
    return table, checks


def _size(n: int) -> str:
    return f"{n / 1024:.0f} KiB" if n >= 1024 else f"{n} B"


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print an reStructuredText simple table, which the docs' performance page takes as it is."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    rule = "  ".join("=" * width for width in widths)
    print(rule)
    print("  ".join(cell.ljust(width) for cell, width in zip(header, widths)).rstrip())
    print(rule)
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    print(rule)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="passes per implementation")
    parser.add_argument("--size", type=int, default=300, help="distinct requests per pass")
    parser.add_argument("--no-old", action="store_true", help="skip 3.0.0 (no virtualenv, no PyPI)")
    parser.add_argument(
        "--stat", choices=sorted(STATISTICS), default="min", help="how rounds are summarised"
    )
    args = parser.parse_args(argv)
    Row.statistic = STATISTICS[args.stat]

    rows, setup, expected = build_rows(args.size)
    install_row = build_install_row(args.size)
    if install_row is None:
        print("no cryptography: the install row is left out", file=sys.stderr)
    else:
        rows.insert(4, install_row)  # after the four rows against 3.0.0, before the floors
    worker = None if args.no_old else OldWorker(ensure_old_venv())
    try:
        if worker is not None:
            check_worker(worker.ask(**setup), expected)
        for row in rows:  # warm-up, untimed: also proves every call succeeds
            time_pass(*row.ours)
            if row.pyjwt:
                time_pass(*row.pyjwt)
            if worker is not None and row.old:
                worker.time(row.old)
        for round_number in range(args.rounds):
            for row in rows:
                row.time_round(worker, round_number)
        scale_table, scale_checks = scaling(worker)
    finally:
        if worker is not None:
            worker.close()

    print(
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"Python {platform.python_version()}, PyJWT {jwt.__version__}, "
        f"{platform.machine()} with {os.cpu_count()} CPUs; {args.size} distinct requests, "
        f"{'fastest' if args.stat == 'min' else 'median'} of {args.rounds} rounds"
    )
    print()
    table = []
    for row in rows:
        ours, old, base = row.us("ours"), row.us("old"), row.us("pyjwt")
        assert ours is not None
        table.append(
            [
                row.name,
                f"{ours:.1f}",
                f"{old:.1f}" if old else "-",
                f"{base:.1f}" if base else "-",
                f"{ours / old:.2f}" if old else "-",
                f"{ours / base:.2f}" if base else "-",
            ]
        )
    print_table(["µs per call", "ours", "3.0.0", "PyJWT", "ours/3.0.0", "ours/PyJWT"], table)
    print()
    print_table(
        ["canonicalisation", "URL", "ours ms", "3.0.0 ms", "ours/3.0.0", "ns per n"], scale_table
    )
    print()
    checks = targets(rows) + scale_checks
    failed = False
    report = []
    for name, measured, limit in checks:
        ok = measured <= limit
        failed |= not ok
        report.append([name, f"{measured:.2f}", f"≤ {limit:g}", "PASS" if ok else "FAIL"])
    print_table(["target", "measured", "limit", "result"], report)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
