"""The kit's clock: one frozen time for signers, verifiers and the fake servers' threads."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import sys
import threading
import time
from typing import Any

import pytest

import atlassian_jwt
from atlassian_jwt import exceptions as exc
from atlassian_jwt.tenants import MemoryTenantStore, TenantStoreAuthenticator
from atlassian_jwt.testing import (
    INSTALL_HINT,
    PRODUCT_TOKEN_LIFETIME,
    FrozenClock,
    make_tenant,
    product_request_headers,
)

START = 1_700_000_000.0


def test_frozen_for_time_and_datetime() -> None:
    with FrozenClock(START) as clock:
        assert time.time() == START == clock.now()
        assert dt.datetime.now(dt.timezone.utc).timestamp() == START
        time.sleep(0.01)
        assert time.time() == START  # frozen: it does not tick
        clock.advance(90.5)
        assert time.time() == START + 90.5
        assert dt.datetime.now(dt.timezone.utc).timestamp() == START + 90.5
        clock.set(dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))
        assert time.time() == dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc).timestamp()
        clock.advance(-60)
        assert time.time() == dt.datetime(2029, 12, 31, 23, 59, tzinfo=dt.timezone.utc).timestamp()
    assert abs(time.time() - START) > 86400  # the real clock is back


def test_other_threads_see_the_same_time() -> None:
    seen: list[float] = []
    with FrozenClock(START) as clock:
        clock.advance(5)
        thread = threading.Thread(target=lambda: seen.append(time.time()))
        thread.start()
        thread.join()
    assert seen == [START + 5]


def test_monotonic_clocks_as_documented() -> None:
    major = int(importlib.metadata.version("time-machine").split(".")[0])
    with FrozenClock(START):
        before = time.monotonic()
        time.sleep(0.02)
        if major >= 3:
            assert time.monotonic() > before  # real time
        else:
            assert time.monotonic() == before  # time-machine 2 (Python 3.9) freezes it too


def test_default_start_is_now_in_whole_seconds() -> None:
    before = int(time.time())
    with FrozenClock() as clock:
        assert before <= clock.now() <= time.time() + 1 and clock.now() == int(clock.now())


def test_nesting() -> None:
    with FrozenClock(START):
        with FrozenClock(START + 1000) as inner:
            assert time.time() == START + 1000
            inner.advance(1)
            assert time.time() == START + 1001
        assert time.time() == START


def expiry_verdicts(tenant: dict[str, Any], leeway: int, offsets: list[int]) -> list[bool]:
    """Sign now, then for each offset past ``exp``: does the app's verifier accept it?"""
    store = MemoryTenantStore()
    store.save(tenant)
    verifier = TenantStoreAuthenticator(store, leeway=leeway)
    verdicts = []
    with FrozenClock() as clock:
        headers = product_request_headers("GET", "/panel", tenant, lifetime=60)
        signed_at = clock.now()
        for offset in offsets:
            clock.set(signed_at + 60 + offset)
            try:
                verifier.authenticate("GET", "/panel", headers)
                verdicts.append(True)
            except exc.TokenExpiredError:
                verdicts.append(False)
    return verdicts


def test_expiry_boundary_with_the_leeway() -> None:
    # PyJWT refuses once exp <= now - leeway: a token is good until its exp plus the leeway,
    # that second excluded.
    assert expiry_verdicts(make_tenant(), 30, [-1, 0, 29, 30, 31, 600]) == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    assert expiry_verdicts(make_tenant(), 0, [-1, 0, 1]) == [True, False, False]


def test_default_lifetime_under_the_clock() -> None:
    tenant = make_tenant()
    store = MemoryTenantStore()
    store.save(tenant)
    verifier = TenantStoreAuthenticator(store, leeway=0)
    with FrozenClock() as clock:
        headers = product_request_headers("GET", "/panel", tenant)
        clock.advance(PRODUCT_TOKEN_LIFETIME - 1)
        assert verifier.authenticate("GET", "/panel", headers)
        clock.advance(1)
        with pytest.raises(atlassian_jwt.TokenExpiredError):
            verifier.authenticate("GET", "/panel", headers)


def test_misuse() -> None:
    clock = FrozenClock(START)
    with pytest.raises(RuntimeError, match="not running"):
        clock.advance(1)
    assert clock.now() == START and "stopped" in repr(clock)
    with clock:
        assert "running" in repr(clock)
        with pytest.raises(RuntimeError, match="running already"):
            clock.start()
    clock.stop()  # a stopped clock stops quietly
    with pytest.raises(ValueError, match="aware"):
        FrozenClock(dt.datetime(2030, 1, 1))
    with pytest.raises(TypeError):
        FrozenClock("2030-01-01")  # type: ignore[arg-type]


def test_without_time_machine_it_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "time_machine", None)  # makes the import fail
    with pytest.raises(ImportError, match=r"needs time-machine: pip install .*\[testing\] extra"):
        FrozenClock().start()
    assert "'time-machine>=2.19'" in INSTALL_HINT and "[testing] extra" in INSTALL_HINT
