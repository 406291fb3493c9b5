"""Benchmark this library against PyPI ``atlassian-jwt`` 3.0.0, PyJWT and Atlassian's Node library.

Run it from a checkout (it needs pip and PyPI, and npm for the Node rows, the first time)::

    python benchmarks/run.py

What it does:

1. It makes ``benchmarks/.venv-old`` (once), a virtualenv of the same Python with
   ``atlassian-jwt==3.0.0`` and the PyJWT version this process imports, and starts
   ``old_worker.py`` there: a long-lived process that imports only the old package and that
   this script drives over a pipe, one JSON line per command (``workers.py``). The two packages
   share a distribution and import name, so they cannot live in one interpreter without
   renaming one; a worker times the old package exactly as its users run it, on the same PyJWT.
2. When ``node`` and ``npm`` are on the ``PATH``, it installs npm ``atlassian-jwt`` 2.0.3
   (Atlassian's JavaScript library, which atlassian-connect-express uses) into the git-ignored
   ``benchmarks/.node-cache`` if it is not there yet (``node_package.py``, the one place that
   installs it, which ``.ci/run`` also runs) and starts ``node_worker.js``, driven the same
   way. Node times itself (``process.hrtime.bigint()`` around the same loop over the same
   requests) and does what an app on atlassian-connect-express does:
   ``createQueryStringHash(fromMethodAndUrl(...))``; ``decodeSymmetric`` unverified for
   ``iss``, the secret looked up,
   ``decodeSymmetric`` verified, the ``exp`` and ``qsh`` checks; ``encodeSymmetric`` with a
   fresh ``qsh``. Without Node the Node rows are left out, with one line saying so.
3. It builds the corpora (``corpus.py``), each a few hundred distinct requests: the mixed one
   (Jira and Confluence REST calls, iframe loads with ``lic``/``tz``/``cp``/``xdm_e``/``jwt``,
   webhooks, lifecycle callbacks) and one per shape: Jira REST calls of which about 60 % repeat
   a parameter name, the same calls with the repeats merged, escaped values, non-ASCII text.
   It signs them as the product does (valid tokens, and tokens signed with another secret) and
   checks that every implementation computes the same ``qsh`` for every one, accepts every
   valid token and rejects every bad one. Node is also given expired tokens, tokens for another
   request and tokens of unknown issuers, must reach this library's verdict on each, must
   accept this library's outbound tokens, and must sign tokens that PyJWT verifies and whose
   ``qsh`` is this library's. A disagreement with 3.0.0 stops the run; one with Node is
   printed, loudly, and fails the run. No request repeats, so no cache could serve one.
4. For each operation and each of ``--rounds`` rounds, it times one pass over the whole
   corpus for each implementation: this package here, 3.0.0 and Node in their workers and,
   where there is a PyJWT baseline, PyJWT here (``timing.time_pass``: the garbage collector
   paused, ``time.perf_counter_ns`` read between chunks of 32 consecutive requests; Node's loop
   is the same, see ``node_worker.js`` for why it forces no collection). The order of the
   implementations alternates from round to round. For each chunk, a row takes the fastest
   of its rounds, the one least disturbed by other processes, as :mod:`timeit` advises; the
   chunks add up to a pass, divided by the number of requests: microseconds per call. (A whole
   pass lasts tens of milliseconds, and on a shared machine hardly one is left undisturbed; a
   chunk lasts a millisecond or less.) ``--stat median`` takes each chunk's median instead.
5. It times canonicalisation alone for 10 to 10,000 parameters, for 100 B to 64 KiB paths
   and for a 64 KiB query (the best of several batches for each size), for both packages.

The PyJWT baselines: ``jwt.encode(claims, secret, algorithm="HS256")`` of exactly the claims
``encode_token`` signs, and PyJWT's bare decode, ``jwt.decode(token, secret,
algorithms=["HS256"])``, of exactly the tokens ``authenticate`` verifies. Those tokens are made
as Jira and Confluence make them (``iss``, ``sub``, ``iat``, ``exp``, ``qsh``, ``context``; no
``aud``), so the bare decode accepts them as they are. ``authenticate`` does everything that
decode does (signature, ``exp``, ``iat``) and more: it finds the token in the request, reads
``iss`` to look up the secret, requires four claims and checks the ``qsh``. The Forge row
verifies ``size`` distinct invocation tokens (RS256, a few hundred bytes of context each) with
the key set served from 127.0.0.1 and cached, against ``jwt.decode(token, key,
algorithms=["RS256"], audience=app_ari, issuer="forge/invocation-token")`` with the key loaded.

Other rows: "new tenant" gives every request a tenant (and a secret) of its own and empties the
library's prepared-key cache before each pass, so that every call pays for having PyJWT check
its secret, as a tenant's first request does. "10,000 tenants" (``--tenants``) authenticates
one request of each of that many tenants, in random order, against the same requests all of one
tenant: the prepared-key cache holds 16,384 secrets, least recently used dropped first, so
that each of the 10,000 is prepared once (with the 1,024 of old, every request of the first
row prepared its secret again). The route rows time a Flask and a Starlette route bare, behind the
library's helper, and calling ``authenticate`` by hand, and ``authenticate`` each right after a
bare Flask request (``routes.py`` says how, and why the last two are there).

The targets, printed with PASS or FAIL, by the issue that set them:

- issue 6: ``hash_url`` at most 0.4 times 3.0.0's time; ``authenticate`` of a valid request at
  most 0.3 times 3.0.0's and at most 1.25 times PyJWT's bare decode of the same token;
  ``encode_token`` at most 1.5 times PyJWT's ``jwt.encode`` of the same claims; a bad signature
  no slower than a valid token; the signed install at most 1.2 times PyJWT's RS256 decode;
  canonicalisation growing by at most 1.5 times what n log n allows from each size to the next,
  and a 64 KiB URL, path or query, in less than 50 ms;
- issue 15: ``hash_url`` at most 0.8 times Node's on every corpus, and at most 0.3 times
  3.0.0's on the Jira REST corpus with repeated names; ``authenticate`` at most 1.0 times Node
  (decode, ``exp`` and ``qsh``) and at most 0.5 times PyJWT's bare decode; ``encode_token`` at
  most 1.0 times Node's ``encodeSymmetric`` with a fresh ``qsh``; the Forge verifier with the
  key cached at most 1.05 times PyJWT's RS256 decode; each framework helper adding at most 0.5
  times ``authenticate`` to a route that calls ``authenticate`` by hand; 10,000 tenants at
  most 1.2 times one tenant; and Node agreeing with this library on every ``qsh`` and verdict.

The exit status is 1 when a target fails. The machine's load moves the numbers by several per
cent from run to run; the ratios, taken within one run, move much less.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.server
import json
import math
import os
import platform
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Measure this checkout's package, whatever else is installed.
sys.path.insert(0, str(ROOT))

import corpus  # noqa: E402
import jwt  # noqa: E402
import node_package  # noqa: E402
import routes  # noqa: E402
import workers  # noqa: E402
from timing import CHUNK, best_time, time_pass  # noqa: E402

import atlassian_jwt  # noqa: E402
from atlassian_jwt.url_utils import canonicalize_request, hash_url  # noqa: E402

#: How the rounds of a row become one number: the fastest (default) or the median.
STATISTICS: dict[str, Callable[[list[float]], float]] = {"min": min, "median": statistics.median}

#: The corpus of the first benchmark, which the rows without a shape in their name use.
MIXED = "mixed"
#: The shape of Jira REST calls that repeat names, where the issue-15 targets are set.
REPEATED = corpus.SHAPES[0]
#: The corpora on which encode_token and authenticate are timed (hash_url: on every corpus).
SIGNED_CORPORA = (MIXED, REPEATED)

Items = list[tuple[Any, ...]]
#: Times one pass of ``call`` over ``items``: each chunk's nanoseconds (``timing.time_pass``).
Timer = Callable[[Callable[..., Any], Sequence[tuple[Any, ...]]], list[int]]


def row_name(operation: str, corpus_name: str = MIXED) -> str:
    """The name of a row: its operation, and the corpus unless it is the mixed one.

    >>> row_name("hash_url"), row_name("authenticate (valid)", "non-ASCII")
    ('hash_url', 'authenticate (valid, non-ASCII)')
    """
    if corpus_name == MIXED:
        return operation
    if operation.endswith(")"):
        return f"{operation[:-1]}, {corpus_name})"
    return f"{operation} ({corpus_name})"


VALID = "authenticate (valid)"
#: Each framework's route behind the helper. Starlette's says that its Authenticator looks
#: secrets up in memory (see StoreAuthenticator), so that the helper runs authenticate inline.
HELPER_ROWS = {
    "Flask": "Flask route with require_jwt",
    "Starlette": "Starlette route with require_jwt (in-memory lookup)",
}
ONE_TENANT = "authenticate (one tenant)"
#: ``authenticate`` timed right after a bare Flask request (``routes.time_pass_amid``).
AMID_FLASK = "authenticate, each after a bare Flask request"
FORGE_ROW = "Forge verify (RS256, key cached)"


class StoreAuthenticator(atlassian_jwt.Authenticator):
    """The subclass an app writes: secrets looked up in a dict.

    An in-memory lookup, which never blocks: the Starlette helper runs it inline, not in a
    worker thread (:attr:`~atlassian_jwt.Authenticator.lookup_blocks`), as it runs an app's
    whose tenants are in memory (a ``MemoryTenantStore``); the Starlette rows say so.
    """

    lookup_blocks = False

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
        before: Callable[[], object] | None = None,
        *,
        node: str | None = None,
        timer: Timer = time_pass,
    ) -> None:
        self.name = name
        self.ours = ours
        #: The names of the workers' operations, if they time this row.
        self.old = old
        self.node = node
        self.pyjwt = pyjwt
        #: Called before each of our passes, untimed.
        self.before = before
        #: Times one of our passes: ``timer(call, items)``.
        self.timer = timer
        #: By implementation, for each round, each chunk's nanoseconds.
        self.ns: dict[str, list[list[int]]] = {"ours": [], "old": [], "pyjwt": [], "node": []}

    def time_round(
        self,
        old: workers.Worker | None,
        round_number: int,
        node: workers.Worker | None = None,
    ) -> None:
        """Time one pass of each implementation, in an order that alternates by round."""
        passes: list[tuple[str, Callable[[], list[int]]]] = [("ours", self.time_ours)]
        if self.old is not None and old is not None:
            passes.append(("old", partial(old.time, self.old)))
        if self.pyjwt is not None:
            passes.append(("pyjwt", partial(time_pass, *self.pyjwt)))
        if self.node is not None and node is not None:
            passes.append(("node", partial(node.time, self.node)))
        if round_number % 2:
            passes.reverse()
        for who, run in passes:
            self.ns[who].append(run())

    def time_ours(self) -> list[int]:
        """Time one pass of this library; return each chunk's nanoseconds."""
        if self.before is not None:
            self.before()
        return self.timer(*self.ours)

    def us(self, who: str) -> float | None:
        """Microseconds per call, or None if not timed.

        Each chunk's rounds become one number (see :attr:`statistic`: by default the fastest
        round of the chunk, the least disturbed by other processes); the chunks' numbers add
        up to the time of a pass, which is divided by the number of calls.
        """
        rounds = self.ns[who]
        if not rounds:
            return None
        total = sum(Row.statistic(list(chunk)) for chunk in zip(*rounds))
        return total / len(self.ours[1]) / 1000


class Setup(NamedTuple):
    """What the workers time and what they must answer (see ``workers.py``)."""

    secrets: dict[str, str]
    #: By operation name: ``{"kind": ..., "items": [...]}``.
    operations: dict[str, dict[str, Any]]
    expected: workers.Expected
    #: Operations only Node is given: checks of verdicts and tokens, never timed.
    node_only: frozenset[str]

    def command(self, node: bool) -> dict[str, Any]:
        """The ``setup`` command for the Node worker (``node``) or the 3.0.0 worker."""
        operations = {
            name: operation
            for name, operation in self.operations.items()
            if node or name not in self.node_only
        }
        return {"op": "setup", "secrets": self.secrets, "operations": operations}

    def expected_of(self, node: bool) -> workers.Expected:
        """What the Node worker (``node``) or the 3.0.0 worker must answer.

        Not 3.0.0's tokens: its ``encode_token`` does not remove the path of the tenant's
        ``baseUrl`` (Confluence's ``/wiki``) before hashing, a bug this library fixed, so its
        tokens for Confluence are not valid, and their ``qsh`` is not ours.
        """
        return {
            name: answers
            for name, answers in self.expected.items()
            if node or self.operations[name]["kind"] != "encode_token"
        }


class Signed(NamedTuple):
    """A corpus with what each signed operation needs."""

    #: ``(method, url as received, headers)`` with a valid token, and with a bad signature.
    valid: Items
    bad: Items
    #: ``(method, url, tenant information)`` for ``encode_token``.
    encode_args: Items
    #: The claims ``encode_token`` signs and the secret, for ``jwt.encode``.
    claims: Items
    #: ``(token, secret)`` of the valid tokens, for ``jwt.decode``.
    decode_args: Items


def operation(kind: str, corpus_name: str) -> str:
    """The name of a worker operation: its kind and its corpus."""
    return f"{kind}:{corpus_name}"


def sign_corpus(requests: list[corpus.Request], tenants: list[corpus.Tenant], now: int) -> Signed:
    """Sign ``requests`` as the product does, and prepare the inputs of every signed row."""

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
    encode_args: Items = [
        (request.method, request.url, tenants[request.tenant].info()) for request in requests
    ]
    claims: Items = []
    for request in requests:
        tenant = tenants[request.tenant]
        # Exactly the claims encode_token signs, for PyJWT's jwt.encode.
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
    return Signed(valid, bad, encode_args, claims, decode_args)


def build_rows(size: int, tenants_count: int | None = None) -> tuple[list[Row], Setup]:
    """Build the corpora, the rows on them, and what the workers time and must answer.

    :param size: distinct requests in each corpus.
    :param tenants_count: tenants of the many-tenants rows (none without).
    """
    tenants = corpus.build_tenants()
    secrets = {tenant.client_key: tenant.shared_secret for tenant in tenants}
    corpora = {MIXED: corpus.build_corpus(size)}
    corpora.update((shape, corpus.build_shape(shape, size)) for shape in corpus.SHAPES)
    now = int(time.time())
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

    operations: dict[str, dict[str, Any]] = {}
    expected: workers.Expected = {}
    rows: list[Row] = []
    for name, requests in corpora.items():
        plain: Items = [(request.method, request.url) for request in requests]
        key = operation("hash_url", name)
        operations[key] = {"kind": "hash_url", "items": plain}
        expected[key] = [(f"{method} {url}", hash_url(method, url)) for method, url in plain]
        rows.append(Row(row_name("hash_url", name), (hash_url, plain), key, node=key))

    signed = {name: sign_corpus(corpora[name], tenants, now) for name in SIGNED_CORPORA}
    for name in SIGNED_CORPORA:
        inputs = signed[name]
        encode_key, valid_key = operation("encode_token", name), operation("authenticate", name)
        operations[encode_key] = {"kind": "encode_token", "items": inputs.encode_args}
        expected[encode_key] = [
            (
                f"{method} {url}",
                partial(_check_signed, hash_url(method, url, info["baseUrl"]), info),
            )
            for method, url, info in inputs.encode_args
        ]
        operations[valid_key] = {"kind": "authenticate", "items": inputs.valid}
        expected[valid_key] = [(f"{method} {url}", True) for method, url, _ in inputs.valid]
        rows.append(
            Row(
                row_name("encode_token", name),
                (encode, inputs.encode_args),
                encode_key,
                (pyjwt_encode, inputs.claims),
                node=encode_key,
            )
        )
        rows.append(
            Row(
                row_name(VALID, name),
                (authenticator.authenticate, inputs.valid),
                valid_key,
                (pyjwt_decode, inputs.decode_args),
                node=valid_key,
            )
        )
    mixed = signed[MIXED]
    bad_key = operation("authenticate_bad", MIXED)
    operations[bad_key] = {"kind": "authenticate_bad", "items": mixed.bad}
    expected[bad_key] = [(f"{method} {url}", False) for method, url, _ in mixed.bad]
    rows.append(Row("authenticate (bad signature)", (reject, mixed.bad), bad_key))
    rows += build_route_rows(authenticator, mixed.valid)
    if tenants_count:
        rows += build_tenant_rows(tenants_count)

    node_only = _node_checks(corpora[MIXED], tenants, signed, authenticator, now)
    for key, (kind, items, answers) in node_only.items():
        operations[key] = {"kind": kind, "items": items}
        expected[key] = answers

    # The floors: the two steps no implementation can skip, canonicalising the request and
    # PyJWT's own call, one after the other with nothing else. Against PyJWT alone they show
    # how much of a row's ratio is this package's own code.
    floor_encode: Items = [
        (request.method, request.url, tenants[request.tenant].base_url, payload, secret)
        for request, (payload, secret) in zip(corpora[MIXED], mixed.claims)
    ]
    floor_decode: Items = [
        (request.method, request.url, token, secret)
        for request, (token, secret) in zip(corpora[MIXED], mixed.decode_args)
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
            (pyjwt_encode, mixed.claims),
        ),
        Row(
            "floor: hash_url, jwt.decode",
            (hash_then_decode, floor_decode),
            None,
            (pyjwt_decode, mixed.decode_args),
        ),
    ]
    rows += build_cold_rows(corpora[MIXED], now, pyjwt_encode, pyjwt_decode)
    return rows, Setup(secrets, operations, expected, frozenset(node_only))


def _check_signed(qsh: str, info: dict[str, Any], token: object) -> str | None:
    """Check a token a worker signed: PyJWT verifies it with the tenant's secret; its qsh."""
    if not isinstance(token, str):
        return f"not a token: {type(token).__name__}"
    try:
        claims = jwt.decode(
            token, info["sharedSecret"], algorithms=["HS256"], audience=info["clientKey"]
        )
    except jwt.PyJWTError as error:
        return f"PyJWT does not verify the token ({type(error).__name__})"
    if claims.get("qsh") != qsh:
        return f"its qsh is {claims.get('qsh')!r}, ours {qsh!r}"
    return None


def _node_checks(
    requests: list[corpus.Request],
    tenants: list[corpus.Tenant],
    signed: dict[str, Signed],
    authenticator: StoreAuthenticator,
    now: int,
) -> dict[str, tuple[str, Items, list[tuple[str, Any]]]]:
    """The operations only Node is given, with this library's answers: never timed.

    ``verdicts``: the mixed corpus with, in turn, a valid token, a bad signature, an expired
    token, a token for another request, and an issuer no tenant has; Node must accept and
    reject exactly what ``authenticate`` does. ``outbound_qsh``: this library's outbound tokens
    for each signed corpus; Node must verify each and compute the same ``qsh``.
    """
    rng = random.Random(15)
    unknown = corpus.Tenant("00000000-0000-4000-8000-000000000000", "s" * 64, corpus.JIRA)
    items: Items = []
    for index, request in enumerate(requests):
        tenant = tenants[request.tenant]
        case = index % 5
        qsh = hash_url(request.method, request.url)
        if case == 3:  # a token for another request of the corpus
            other = requests[(index + 1 + rng.randrange(len(requests) - 1)) % len(requests)]
            qsh = hash_url(other.method, other.url)
        claims = corpus.incoming_claims(request, unknown if case == 4 else tenant, qsh, now)
        if case == 2:
            claims.update(iat=now - 7200, exp=now - 3600)
        secret = tenant.shared_secret[::-1] if case == 1 else tenant.shared_secret
        token = jwt.encode(claims, secret, algorithm="HS256")
        items.append((request.method, *request.received(token)))

    def verdict(method: str, url: str, headers: dict[str, str]) -> bool:
        try:
            authenticator.authenticate(method, url, headers)
        except atlassian_jwt.DecodeError:
            return False
        return True

    checks: dict[str, tuple[str, Items, list[tuple[str, Any]]]] = {
        operation("verdicts", MIXED): (
            "authenticate",
            items,
            [(f"{method} {url}", verdict(method, url, headers)) for method, url, headers in items],
        )
    }
    for name, inputs in signed.items():
        outbound: Items = []
        for method, url, info in inputs.encode_args:
            token = atlassian_jwt.encode_token(method, url, **info)
            outbound.append((token, info["sharedSecret"], method, url, info["baseUrl"]))
        checks[operation("outbound_qsh", name)] = (
            "outbound_qsh",
            outbound,
            [(f"{method} {url}", True) for _, _, method, url, _ in outbound],
        )
    return checks


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
    inputs = sign_corpus(as_own, tenants, now)
    authenticator = StoreAuthenticator({t.client_key: t.shared_secret for t in tenants})

    def encode(method: str, url: str, info: dict[str, Any]) -> str:
        return atlassian_jwt.encode_token(method, url, **info)

    forget = tokens._prepared.clear  # noqa: SLF001 - the benchmark empties the key cache
    return [
        Row(
            "encode_token (new tenant)",
            (encode, inputs.encode_args),
            None,
            (pyjwt_encode, inputs.claims),
            forget,
        ),
        Row(
            "authenticate (new tenant)",
            (authenticator.authenticate, inputs.valid),
            None,
            (pyjwt_decode, inputs.decode_args),
            forget,
        ),
    ]


def build_tenant_rows(count: int, seed: int = 15) -> list[Row]:
    """``authenticate`` of ``count`` requests, each of its own tenant in random order, and of one.

    The requests are the first ``count`` of the mixed corpus's generator; in the first row the
    ``i``-th is signed by tenant ``order[i]`` of a random permutation, in the second all are
    signed by tenant 0. The Authenticator knows all ``count`` tenants in both, so that the two
    differ only in how many secrets the requests use. Before each timed pass, an untimed one
    brings the library's caches to the state a busy app keeps them in (the "new tenant" rows
    empty them): what is timed is the traffic after it, with whatever the caches then hold.
    """
    requests = corpus.build_corpus(count)
    tenants = corpus.build_tenants(count, seed=seed)
    order = list(range(count))
    random.Random(seed).shuffle(order)
    now = int(time.time())
    authenticator = StoreAuthenticator({t.client_key: t.shared_secret for t in tenants})
    rows = []
    for label, tenant_of in (
        (f"authenticate ({count:,} tenants)", order),
        (ONE_TENANT, [0] * count),
    ):
        as_tenant = [request._replace(tenant=tenant_of[i]) for i, request in enumerate(requests)]
        inputs = sign_corpus(as_tenant, tenants, now)
        ours = (authenticator.authenticate, inputs.valid)
        rows.append(Row(label, ours, None, before=partial(time_pass, *ours)))
    return rows


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


class _JWKSHandler(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass


@contextlib.contextmanager
def jwks_server(body: bytes) -> Iterator[str]:
    """Serve ``body`` as a JWKS on 127.0.0.1 while the block runs; yield its URL."""
    handler = type("Handler", (_JWKSHandler,), {"body": body})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


#: The Forge verifier's method that the Forge row times, with the headers of each request:
#: ``verify_request``, which also reads the invocation's context and its OAuth tokens.
FORGE_METHOD = "verify_request"


def build_forge_row(size: int, stack: contextlib.ExitStack) -> Row | None:
    """The Forge row: ``ForgeInvocationVerifier`` with the key set cached, against PyJWT.

    Returns ``None`` without ``cryptography``. The key set is served from 127.0.0.1 (by a server
    that ``stack`` stops) and fetched once, before timing; each token is a distinct invocation
    (its own ``jti``, principal, installation and context), as Forge sends them.
    """
    try:
        from cryptography.hazmat.primitives.asymmetric import rsa
    except ImportError:
        return None
    from atlassian_jwt.forge import APP_ARI_PREFIX, FORGE_ISSUER

    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_key = private_key.public_key()
    kid = "forge/invocation-token/benchmark"
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(public_key, as_dict=True)
    body = json.dumps({"keys": [{**jwk, "kid": kid, "use": "sig", "alg": "RS256"}]}).encode()
    url = stack.enter_context(jwks_server(body))
    app_id = "8db8e2c8-1b2d-4f3e-9a6b-0c1d2e3f4a5b"
    app_ari = APP_ARI_PREFIX + app_id
    verifier = atlassian_jwt.ForgeInvocationVerifier(app_id, jwks_url=url)
    now = int(time.time())
    ours: Items = []
    baseline: Items = []
    for claims in corpus.build_invocations(size, app_ari, FORGE_ISSUER, now):
        token = jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": kid})
        ours.append(({"Authorization": f"Bearer {token}"},))
        baseline.append((token, public_key))

    def pyjwt_decode(token: str, key: Any) -> dict[str, Any]:
        decoded: dict[str, Any] = jwt.decode(
            token, key, algorithms=["RS256"], audience=app_ari, issuer=FORGE_ISSUER
        )
        return decoded

    return Row(
        FORGE_ROW,
        (getattr(verifier, FORGE_METHOD), ours),
        None,
        (pyjwt_decode, baseline),
    )


def build_route_rows(authenticator: atlassian_jwt.Authenticator, valid: Items) -> list[Row]:
    """The Flask and Starlette routes, bare and behind the helper, on the same valid requests.

    Each framework that is not installed is left out, with a line saying so.
    """
    rows = []
    flask = routes.flask_passes(authenticator, valid)
    if flask is None:
        print("no Flask: the Flask rows are left out", file=sys.stderr)
    else:
        rows += [
            Row(HELPER_ROWS["Flask"], flask["helper"], None),
            Row("Flask route, bare", flask["bare"], None),
            Row("Flask route, authenticate by hand", flask["by hand"], None),
            Row(
                AMID_FLASK,
                flask["amid"],
                None,
                timer=partial(routes.time_pass_amid, *flask["bare"]),
            ),
        ]
    starlette = routes.starlette_passes(authenticator, valid)
    if starlette is None:
        print("no Starlette: the Starlette rows are left out", file=sys.stderr)
    else:
        rows += [
            Row(
                HELPER_ROWS["Starlette"],
                starlette["helper"],
                None,
                timer=routes.time_async_pass,
            ),
            Row("Starlette route, bare", starlette["bare"], None, timer=routes.time_async_pass),
            Row(
                "Starlette route, authenticate by hand",
                starlette["by hand"],
                None,
                timer=routes.time_async_pass,
            ),
        ]
    return rows


#: ``(target, issue, measured, limit)``.
Target = tuple[str, int, float, float]


def targets(rows: list[Row], node_problems: int | None = None) -> list[Target]:
    """Return each target whose rows were timed: ``(target, issue, measured, limit)``.

    :param node_problems: how many of Node's operations differ from this library (``None``
        when Node did not run).
    """
    by_name = {row.name: row for row in rows}

    def us(name: str, who: str = "ours") -> float | None:
        row = by_name.get(name)
        return row.us(who) if row is not None else None

    def ratio(name: str, who: str, other: str | None = None) -> float | None:
        mine = us(name)
        theirs = us(other) if other else us(name, who)
        return mine / theirs if mine and theirs else None

    def overhead(framework: str) -> float | None:
        # What the helper adds beyond calling authenticate by hand (routes.py says why not
        # the bare route less authenticate alone; route_costs prints that too).
        helper = us(HELPER_ROWS[framework])
        by_hand = us(f"{framework} route, authenticate by hand")
        alone = us(VALID)
        if helper is None or by_hand is None or not alone:
            return None
        return (helper - by_hand) / alone

    checks: list[tuple[str, int, float | None, float]] = [
        ("hash_url / 3.0.0", 6, ratio("hash_url", "old"), 0.4),
        (f"{VALID} / 3.0.0", 6, ratio(VALID, "old"), 0.3),
        (f"{VALID} / PyJWT decode", 6, ratio(VALID, "pyjwt"), 1.25),
        ("encode_token / PyJWT encode", 6, ratio("encode_token", "pyjwt"), 1.5),
        ("bad signature / valid", 6, ratio("authenticate (bad signature)", "ours", VALID), 1.0),
        ("install / PyJWT RS256 decode", 6, ratio("install (RS256, cached key)", "pyjwt"), 1.2),
    ]
    for name in (MIXED, *corpus.SHAPES):
        checks.append(
            (f"hash_url / Node ({name})", 15, ratio(row_name("hash_url", name), "node"), 0.8)
        )
    checks.append(
        (f"hash_url / 3.0.0 ({REPEATED})", 15, ratio(row_name("hash_url", REPEATED), "old"), 0.3)
    )
    for name in SIGNED_CORPORA:
        checks.append(
            (f"authenticate / Node ({name})", 15, ratio(row_name(VALID, name), "node"), 1.0)
        )
    checks.append((f"{VALID} / PyJWT decode", 15, ratio(VALID, "pyjwt"), 0.5))
    for name in SIGNED_CORPORA:
        checks.append(
            (
                f"encode_token / Node ({name})",
                15,
                ratio(row_name("encode_token", name), "node"),
                1.0,
            )
        )
    checks += [
        ("Forge verify / PyJWT RS256 decode", 15, ratio(FORGE_ROW, "pyjwt"), 1.05),
        ("Flask helper overhead / authenticate", 15, overhead("Flask"), 0.5),
        ("Starlette helper overhead / authenticate", 15, overhead("Starlette"), 0.5),
    ]
    for row in rows:
        if row.name.endswith(" tenants)"):
            count = row.name.partition("(")[2].partition(" ")[0]
            checks.append(
                (f"{count} tenants / one tenant", 15, ratio(row.name, "ours", ONE_TENANT), 1.2)
            )
    if node_problems is not None:
        checks.append(("Node disagreements (operations)", 15, float(node_problems), 0.0))
    return [
        (name, issue, value, limit) for name, issue, value, limit in checks if value is not None
    ]


def route_costs(rows: list[Row]) -> list[list[str]]:
    """What each framework's route pays around ``authenticate``, in microseconds, for the record.

    Columns: ``authenticate`` alone; ``authenticate`` each right after a bare request of the
    framework (Flask only); what the route by hand pays beyond the bare route and
    ``authenticate`` alone, which any route calling it pays amid the framework's work; what the
    helper adds beyond calling it by hand, the target's numerator; and the two together, the
    issue's first measure (``routes.py`` says why the target is not that).
    """
    by_name = {row.name: row.us("ours") for row in rows}
    alone = by_name.get(VALID)
    amid = {"Flask": by_name.get(AMID_FLASK)}
    table = []
    for framework, helper_name in HELPER_ROWS.items():
        helper = by_name.get(helper_name)
        bare = by_name.get(f"{framework} route, bare")
        by_hand = by_name.get(f"{framework} route, authenticate by hand")
        if helper is None or bare is None or by_hand is None or alone is None:
            continue
        after = amid.get(framework)
        table.append(
            [
                framework,
                f"{alone:.1f}",
                f"{after:.1f}" if after is not None else "-",
                f"{by_hand - bare - alone:.1f}",
                f"{helper - by_hand:.1f}",
                f"{helper - bare - alone:.1f}",
            ]
        )
    return table


def scaling(
    worker: workers.Worker | None,
) -> tuple[list[list[str]], list[tuple[str, int, float, float]]]:
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
        checks.append((f"growth with {unit} / n log n", 6, worst, 1.5))
    largest = max(times["path"][-1][1], times["query"][-1][1])
    checks.append(("64 KiB URL, path or query (ms)", 6, largest / 1e6, 50.0))
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


def machine() -> dict[str, str]:
    """The machine and the versions in play, for the header and ``--json``."""
    cpu = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    return {
        "cpu": f"{cpu or 'unknown CPU'} ({platform.machine()}, {os.cpu_count()} CPUs)",
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "pyjwt": jwt.__version__,
    }


def loud(problems: list[str]) -> None:
    """Print the ways Node disagrees with this library where nobody can miss them."""
    bar = "!" * 100
    print(bar, file=sys.stderr)
    print("!!! NODE AND THIS LIBRARY DISAGREE: the run fails", file=sys.stderr)
    for problem in problems:
        print(f"!!! {problem}", file=sys.stderr)
    print(bar, file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="passes per implementation")
    parser.add_argument("--size", type=int, default=512, help="distinct requests per corpus")
    parser.add_argument(
        "--tenants", type=int, default=10_000, help="tenants of the many-tenants row"
    )
    parser.add_argument("--no-old", action="store_true", help="skip 3.0.0 (no virtualenv, no PyPI)")
    parser.add_argument("--no-node", action="store_true", help="skip Node (no npm)")
    parser.add_argument(
        "--stat", choices=sorted(STATISTICS), default="min", help="how rounds are summarised"
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    Row.statistic = STATISTICS[args.stat]
    facts = machine()

    rows, setup = build_rows(args.size, args.tenants)
    with contextlib.ExitStack() as stack:
        extra = [build_install_row(args.size), build_forge_row(args.size, stack)]
        if None in extra:
            print("no cryptography: the install and Forge rows are left out", file=sys.stderr)
        # After the bad signature, before the routes.
        at = 1 + next(i for i, row in enumerate(rows) if row.name.endswith("(bad signature)"))
        rows[at:at] = [row for row in extra if row is not None]
        old = None if args.no_old else workers.OldWorker(workers.ensure_old_venv())
        if old is not None:
            stack.callback(old.close)
        node_path = None if args.no_node else node_package.install()
        if node_path is None and not args.no_node:
            print("the Node rows are left out", file=sys.stderr)
        node = None if node_path is None else workers.NodeWorker(node_path)
        if node is not None:
            stack.callback(node.close)
        stack.callback(routes.EventLoop.close)

        if old is not None:
            workers.check_old_worker(
                old.ask(**setup.command(node=False)), setup.expected_of(node=False)
            )
        node_problems: list[str] | None = None
        if node is not None:
            answer = node.ask(**setup.command(node=True))
            facts["node"] = f"Node {answer['node']}, " + ", ".join(
                f"{name} {version}" for name, version in answer["packages"].items()
            )
            node_problems = workers.check_node_worker(answer, setup.expected_of(node=True))
            if node_problems:
                loud(node_problems)
        for row in rows:  # warm-up, untimed: also proves every call succeeds
            row.time_ours()
            if row.pyjwt:
                time_pass(*row.pyjwt)
            if old is not None and row.old:
                old.time(row.old)
            if node is not None and row.node:
                node.time(row.node)
        for round_number in range(args.rounds):
            for row in rows:
                row.time_round(old, round_number, node)
        scale_table, scale_checks = scaling(old)

    print(
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; {facts['cpu']}; "
        f"{facts['os']}"
    )
    print(
        f"{facts['python']}, PyJWT {facts['pyjwt']}; "
        + facts.get("node", "no Node")
        + f"; {args.size} distinct requests per corpus, "
        f"each chunk of {CHUNK} the {'fastest' if args.stat == 'min' else 'median'} of "
        f"{args.rounds} rounds"
    )
    print()
    table = []
    for row in rows:
        ours = row.us("ours")
        assert ours is not None
        others = [row.us(who) for who in ("old", "pyjwt", "node")]
        table.append(
            [row.name, f"{ours:.1f}"]
            + [f"{us:.1f}" if us else "-" for us in others]
            + [f"{ours / us:.2f}" if us else "-" for us in others]
        )
    print_table(
        ["µs per call", "ours", "3.0.0", "PyJWT", "Node", "ours/3.0.0", "ours/PyJWT", "ours/Node"],
        table,
    )
    print()
    print_table(
        ["canonicalisation", "URL", "ours ms", "3.0.0 ms", "ours/3.0.0", "ns per n"], scale_table
    )
    print()
    checks = targets(rows, None if node_problems is None else len(node_problems)) + scale_checks
    failed = False
    report = []
    for name, issue, measured, limit in checks:
        ok = measured <= limit
        failed |= not ok
        report.append(
            [name, str(issue), f"{measured:.2f}", f"≤ {limit:g}", "PASS" if ok else "FAIL"]
        )
    print_table(["target", "issue", "measured", "limit", "result"], report)
    costs = route_costs(rows)
    if costs:
        print()
        print_table(
            [
                "µs around authenticate",
                "authenticate alone",
                "after a bare request",
                "by hand - bare - alone",
                "helper - by hand",
                "helper - bare - alone",
            ],
            costs,
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": facts,
                    "size": args.size,
                    "rounds": args.rounds,
                    "statistic": args.stat,
                    # Per implementation: microseconds per call, and each whole round's.
                    "rows": {
                        row.name: {
                            who: {
                                "us": row.us(who),
                                "rounds": [sum(ns) / len(row.ours[1]) / 1000 for ns in rounds],
                            }
                            for who, rounds in row.ns.items()
                            if rounds
                        }
                        for row in rows
                    },
                    "targets": [
                        {"target": name, "issue": issue, "measured": measured, "limit": limit}
                        for name, issue, measured, limit in checks
                    ],
                    "node_problems": node_problems,
                },
                indent=1,
            )
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
