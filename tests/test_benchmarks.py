"""The benchmark's pure parts: its corpus, its inputs and its worker protocol; never its timings.

Timings on shared machines are noise, so nothing here asserts a speed; ``benchmarks/run.py``
does that. Nothing here creates the old package's virtualenv or reaches PyPI: the worker
protocol is exercised with this interpreter, which imports this package under the same name.
"""

from __future__ import annotations

import json
import platform
import re
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import jwt
import pytest

import atlassian_jwt
from atlassian_jwt import tokens
from atlassian_jwt.url_utils import hash_url, parse_params, split_url
from tests.support import StoreAuthenticator

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import corpus  # noqa: E402
import run  # noqa: E402
import timing  # noqa: E402

REQUESTS = corpus.build_corpus()
TENANTS = corpus.build_tenants()


def sign(claims: dict[str, object], secret: str) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def test_corpus_is_a_few_hundred_distinct_requests_of_every_kind() -> None:
    assert len(REQUESTS) == 300
    assert len({(request.method, request.url) for request in REQUESTS}) == len(REQUESTS)
    kinds = Counter(request.kind for request in REQUESTS)
    assert set(kinds) == {
        "jira-rest",
        "confluence-rest",
        "iframe",
        "webhook",
        "lifecycle",
        "raw-unicode",
    }
    assert min(kinds.values()) >= 20
    assert {request.method for request in REQUESTS} >= {"GET", "POST", "PUT", "DELETE"}


def test_corpus_is_deterministic_and_sized_on_demand() -> None:
    assert corpus.build_corpus() == REQUESTS
    assert corpus.build_corpus(50) == REQUESTS[:50]


def test_corpus_exercises_every_canonicalisation_step() -> None:
    urls = [request.url for request in REQUESTS]
    queries = [split_url(url)[1] for url in urls]
    # Repeated parameters, both kinds of encoded space and a raw one, commas, blank values.
    assert sum(any(len(v) > 1 for v in parse_params(q).values()) for q in queries) >= 50
    assert sum("+" in q for q in queries) >= 10
    assert sum("%20" in q for q in queries) >= 50
    assert sum(" " in q for q in queries) >= 10
    assert sum("," in q for q in queries) >= 20
    assert sum("cp=&" in q or q.endswith("cp=") for q in queries) >= 10
    # Unicode, percent-encoded as UTF-8 and raw.
    assert sum(bool(re.search("%[CDE][0-9A-F]%", q)) for q in queries) >= 50
    assert sum(not q.isascii() for q in queries) >= 10
    iframes = [parse_params(q) for r, q in zip(REQUESTS, queries) if r.kind == "iframe"]
    assert all({"lic", "tz", "cp", "xdm_e", "xdm_c", "cv"} <= set(p) for p in iframes)


def test_corpus_avoids_what_3_0_0_canonicalises_wrongly() -> None:
    # So that one token is valid for both packages and both authenticate rows time success.
    for request in REQUESTS:
        path, query = split_url(request.url)
        assert "//" not in path and ";" not in path and not path.endswith("/")
        assert ":" not in path.split("/")[1]
        assert all(piece.partition("=")[0] for piece in query.split("&") if piece)


def test_every_request_round_trips_through_encode_token_and_authenticate() -> None:
    for request in REQUESTS:
        tenant = TENANTS[request.tenant]
        token = atlassian_jwt.encode_token(request.method, request.url, **tenant.info())
        # The product checks the app's token against the tenant's own base URL.
        verifier = StoreAuthenticator(
            {corpus.APP_KEY: {"sharedSecret": tenant.shared_secret}}, base_url=tenant.base_url
        )
        url, headers = request.received(token)
        result = verifier.authenticate(request.method, url, headers)
        assert result.client_key == corpus.APP_KEY
        assert result.claims["aud"] == tenant.client_key


def test_product_signed_tokens_verify_and_bad_signatures_are_rejected() -> None:
    tenants = {t.client_key: {"sharedSecret": t.shared_secret} for t in TENANTS}
    authenticator = StoreAuthenticator(tenants)
    now = int(time.time())
    valid = corpus.sign_incoming(REQUESTS, TENANTS, hash_url, sign, now)
    bad = corpus.sign_incoming(
        REQUESTS, TENANTS, hash_url, sign, now, secret_for=lambda t: t.shared_secret[::-1]
    )
    assert len(set(valid)) == len(set(bad)) == len(REQUESTS)
    for request, good_token, bad_token in zip(REQUESTS, valid, bad):
        url, headers = request.received(good_token)
        assert ("jwt=" in url) == request.token_in_query == (not headers)
        result = authenticator.authenticate(request.method, url, headers)
        assert result.client_key == TENANTS[request.tenant].client_key
        assert "aud" not in result.claims  # so that PyJWT's bare decode accepts the same token
        decoded = jwt.decode(good_token, TENANTS[request.tenant].shared_secret, ["HS256"])
        assert decoded == result.claims
        with pytest.raises(atlassian_jwt.InvalidSignatureError):
            authenticator.authenticate(request.method, *request.received(bad_token))


def test_scaling_cases_have_the_sizes_they_are_labelled_with() -> None:
    cases = corpus.scaling_cases()
    params = [(n, url) for series, n, url in cases if series in ("params", "query")]
    paths = [(n, url) for series, n, url in cases if series == "path"]
    assert [n for n, _ in params][:4] == [10, 100, 1_000, 10_000]
    assert [n for n, _ in paths] == [100, 1_024, 4_096, 16_384, 65_536]
    for n, url in params:
        assert sum(len(values) for values in parse_params(split_url(url)[1]).values()) == n
    for n, url in paths:
        assert len(urlsplit(url).path) == n
    # The 64 KiB query: as many parameters as fit in 64 KiB, and no more.
    (query,) = [url for series, _, url in cases if series == "query"]
    assert 64 * 1024 - 30 < len(query) <= 64 * 1024


def test_rows_run_on_their_inputs_and_the_worker_gets_json() -> None:
    rows, setup, expected = run.build_rows(size=28)
    assert [row.name for row in rows] == [
        "hash_url",
        "encode_token",
        "authenticate (valid)",
        "authenticate (bad signature)",
        "floor: hash_url, jwt.encode",
        "floor: hash_url, jwt.decode",
        "encode_token (new tenant)",
        "authenticate (new tenant)",
    ]
    for row in rows:
        call, items = row.ours
        assert len(items) == 28
        if row.before is not None:
            row.before()
            assert tokens._prepared == {}
        for args in items:
            call(*args)  # the bad-signature row raises unless the token is rejected
        if row.pyjwt:
            for args in row.pyjwt[1]:
                row.pyjwt[0](*args)
    # In the new-tenant rows every request has a secret of its own.
    for row in rows[-2:]:
        assert row.pyjwt is not None
        assert len({secret for _, secret in row.pyjwt[1]}) == 28
    assert expected["count"] == 28 and len(expected["qsh"]) == 28
    assert set(setup) == {"op", "requests", "encode", "valid", "bad", "secrets"}


@pytest.mark.extras
def test_install_row_verifies_distinct_signed_callbacks() -> None:
    row = run.build_install_row(size=12)
    assert row is not None and row.pyjwt is not None
    call, items = row.ours
    bodies = {args[3] for args in items}
    assert len(bodies) == 12
    for args in items:
        client_key, claims = call(*args)
        assert claims["iss"] == client_key and claims["aud"] == corpus.APP_BASE_URL
    decode, baseline = row.pyjwt
    for (token, key), args in zip(baseline, items):
        assert args[2]["Authorization"] == f"JWT {token}"
        assert decode(token, key)["iss"] in {json.loads(body)["clientKey"] for body in bodies}


def test_worker_protocol_end_to_end_with_this_interpreter() -> None:
    # This package keeps 3.0.0's names, so the worker runs on it here, without a virtualenv.
    rows, setup, expected = run.build_rows(size=14)
    worker = run.OldWorker(Path(sys.executable))
    try:
        answer = worker.ask(**setup)
        assert answer["qsh"] == expected["qsh"]
        assert answer["accepted"] == answer["rejected"] == 14
        assert answer["pyjwt"] == jwt.__version__
        for row in rows:
            assert row.old is None or worker.time(row.old) > 0
        assert worker.ask(op="best", method="GET", url="/a?b=c")["ns"] > 0
        with pytest.raises(RuntimeError, match="unknown op"):
            worker.ask(op="nonsense")
        # The benchmark refuses to compare with anything but 3.0.0 from its own virtualenv.
        with pytest.raises(SystemExit, match="cannot compare: the worker imports"):
            run.check_worker(answer, expected)
    finally:
        worker.close()


def test_check_worker_refuses_a_worker_that_disagrees() -> None:
    expected = {"qsh": ["a", "b"], "count": 2}
    answer = {
        "atlassian_jwt": "3.0.0",
        "module": str(run.OLD_VENV / "lib" / "atlassian_jwt" / "__init__.py"),
        "pyjwt": jwt.__version__,
        "python": platform.python_version(),
        "qsh": ["a", "b"],
        "accepted": 2,
        "rejected": 2,
    }
    run.check_worker(answer, expected)
    with pytest.raises(SystemExit, match="another qsh for 1 requests"):
        run.check_worker({**answer, "qsh": ["a", "x"]}, expected)
    with pytest.raises(SystemExit, match="PyJWT 0.1"):
        run.check_worker({**answer, "pyjwt": "0.1"}, expected)


def test_time_pass_calls_each_item_once() -> None:
    calls: list[int] = []
    elapsed = timing.time_pass(calls.append, [(1,), (2,), (3,)])
    assert calls == [1, 2, 3] and elapsed >= 0
    assert timing.best_time(len, ("abc",), repeat=2) > 0


def test_print_table_is_a_restructuredtext_simple_table(capsys: pytest.CaptureFixture[str]) -> None:
    run.print_table(["op", "µs"], [["hash_url", "9.5"], ["x", "10.25"]])
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "========  =====",
        "op        µs",
        "========  =====",
        "hash_url  9.5",
        "x         10.25",
        "========  =====",
    ]
