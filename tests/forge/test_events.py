"""The event dispatcher: Forge's deliveries verified, answered in time, each event run once."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine

import atlassian_jwt
from atlassian_jwt import ForgeEvent, ForgeEventDispatcher, ForgeInvocationVerifier
from atlassian_jwt import exceptions as exc
from atlassian_jwt.forge import (
    DEFAULT_EVENT_RETENTION,
    FORGE_EVENT_RETRIES,
    FORGE_EVENT_RETRY_DELAY,
    FORGE_EVENT_TIMEOUT,
    FORGE_INSTALLED_EVENT,
    FORGE_LIFECYCLE_EVENTS,
    FORGE_UPGRADED_EVENT,
    EventResponse,
    connect_tenant,
    load_app_token,
)
from atlassian_jwt.tenants import MemoryTenantStore, SQLiteTenantStore, TenantStore
from atlassian_jwt.testing import FakeForgeJWKS, ProductStandIn
from tests.forge.conftest import installation_ari
from tests.support import APP_KEY

pytestmark = pytest.mark.extras

ISSUE_CREATED = "avi:jira:created:issue"
ISSUE = {"issue": {"id": "10073", "key": "SP-10"}, "atlassianId": "4ad9aa0c52dc1b420a791d12"}
# Generous: only to catch a hang.
HANG = 10.0


class Recorder:
    """A handler that records the events it is given, and can be told to fail or to wait."""

    def __init__(self) -> None:
        self.events: list[ForgeEvent] = []
        self.threads: list[str] = []
        self.failures = 0
        self.hold: threading.Event | None = None
        self.done = threading.Event()

    def __call__(self, event: ForgeEvent) -> None:
        self.events.append(event)
        self.threads.append(threading.current_thread().name)
        if self.hold is not None:
            assert self.hold.wait(HANG)
        if self.failures:
            self.failures -= 1
            self.done.set()
            raise RuntimeError("the handler failed")
        self.done.set()


@pytest.fixture
def store() -> TenantStore:
    return MemoryTenantStore(app_key=APP_KEY)


@pytest.fixture
def failures() -> list[tuple[ForgeEvent, Exception]]:
    return []


@pytest.fixture
def dispatcher(
    verifier: ForgeInvocationVerifier,
    store: TenantStore,
    failures: list[tuple[ForgeEvent, Exception]],
) -> Iterator[ForgeEventDispatcher]:
    events = ForgeEventDispatcher(
        verifier, store, on_failure=lambda event, error: failures.append((event, error))
    )
    yield events
    events.shutdown(wait=False)


@pytest.fixture
def recorder(dispatcher: ForgeEventDispatcher) -> Recorder:
    handler = Recorder()
    dispatcher.on(ISSUE_CREATED)(handler)
    return handler


def outcome(response: EventResponse) -> tuple[int, str]:
    return response.status, response.outcome


# One event, once.


def test_an_event_is_verified_handled_and_answered(
    forge: FakeForgeJWKS,
    product: ProductStandIn,
    dispatcher: ForgeEventDispatcher,
    recorder: Recorder,
) -> None:
    response = dispatcher.handle(*forge.event_delivery(ISSUE_CREATED, ISSUE))
    assert outcome(response) == (200, "handled")
    assert json.loads(response.body) == {"outcome": "handled"}
    assert response.headers == {"Content-Type": "application/json"}
    [event] = recorder.events
    assert event.event_type == ISSUE_CREATED and not event.scheduled
    assert event.payload["issue"]["key"] == "SP-10"
    assert event.installation_id == product.installation_id
    assert event.invocation.account_id is None
    assert (event.retry_count, event.retry_reason) == (0, None)
    assert len(event.delivery_id) == 64 and event.delivery_id == response.delivery_id
    assert recorder.threads[0].startswith("forge-event")
    with pytest.raises(TypeError):
        event.payload["issue"]["key"] = "SP-11"


def test_a_retry_of_a_handled_event_is_answered_without_running_again(
    forge: FakeForgeJWKS, dispatcher: ForgeEventDispatcher, recorder: Recorder
) -> None:
    first = dispatcher.handle(*forge.event_delivery(ISSUE_CREATED, ISSUE))
    for attempt in range(1, FORGE_EVENT_RETRIES + 1):
        retry = dispatcher.handle(*forge.event_delivery(ISSUE_CREATED, ISSUE, retry_count=attempt))
        assert outcome(retry) == (200, "duplicate")
        assert retry.delivery_id == first.delivery_id
    assert len(recorder.events) == 1


def test_the_identity_is_the_installation_and_the_event_without_retry_context(
    forge: FakeForgeJWKS, dispatcher: ForgeEventDispatcher, recorder: Recorder
) -> None:
    def delivery_id(*args: Any, **kwargs: Any) -> str | None:
        return dispatcher.handle(*forge.event_delivery(*args, **kwargs)).delivery_id

    one = delivery_id(ISSUE_CREATED, ISSUE)
    # A new FIT each time (new jti, times) and the retry context change nothing.
    assert delivery_id(ISSUE_CREATED, ISSUE, wrapped=False) == one
    assert delivery_id(ISSUE_CREATED, ISSUE, retry_count=3, retry_reason="TIMEOUT_ERROR") == one
    assert delivery_id(ISSUE_CREATED, ISSUE, lifetime=60, trace_id="0" * 32) == one
    # Another installation, another event: another identity.
    assert delivery_id(ISSUE_CREATED, ISSUE, installation_id=installation_ari()) != one
    assert delivery_id(ISSUE_CREATED, {**ISSUE, "issue": {"id": "10074"}}) != one


def test_a_first_delivery_always_runs_even_when_equal_to_an_earlier_event(
    forge: FakeForgeJWKS, dispatcher: ForgeEventDispatcher, recorder: Recorder
) -> None:
    # Two events can be equal (a user viewing an issue twice); only retries are recognised.
    for _ in range(2):
        delivery = forge.event_delivery(ISSUE_CREATED, ISSUE)
        assert outcome(dispatcher.handle(*delivery)) == (200, "handled")
    assert len(recorder.events) == 2


def test_a_retry_of_an_event_that_never_arrived_runs(
    forge: FakeForgeJWKS, dispatcher: ForgeEventDispatcher, recorder: Recorder
) -> None:
    delivery = forge.event_delivery(
        ISSUE_CREATED, ISSUE, retry_count=2, retry_reason="TIMEOUT_ERROR"
    )
    assert outcome(dispatcher.handle(*delivery)) == (200, "handled")
    [event] = recorder.events
    assert (event.retry_count, event.retry_reason) == (2, "TIMEOUT_ERROR")
    assert event.payload["retryContext"]["retryCount"] == 2


def test_a_retry_count_that_is_not_a_number_is_still_a_retry(
    forge: FakeForgeJWKS, dispatcher: ForgeEventDispatcher, recorder: Recorder
) -> None:
    dispatcher.handle(*forge.event_delivery(ISSUE_CREATED, ISSUE))
    headers, body = forge.event_delivery(ISSUE_CREATED, ISSUE)
    document = json.loads(body)
    document["payload"]["retryContext"] = {"retryCount": "two"}
    assert outcome(dispatcher.handle(headers, json.dumps(document).encode())) == (
        200,
        "duplicate",
    )


def test_retries_are_recognised_by_another_process_on_the_same_store(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier, tmp_path: Path
) -> None:
    calls: list[str] = []
    workers = []
    for name in ("worker-1", "worker-2"):
        store = SQLiteTenantStore(tmp_path / "tenants.db", app_key=APP_KEY)
        worker = ForgeEventDispatcher(verifier, store)
        worker.on(ISSUE_CREATED)(lambda event, name=name: calls.append(name))
        workers.append(worker)
    try:
        first = workers[0].handle(*forge.event_delivery(ISSUE_CREATED, ISSUE))
        retry = workers[1].handle(*forge.event_delivery(ISSUE_CREATED, ISSUE, retry_count=1))
    finally:
        for worker in workers:
            worker.shutdown()
    assert (outcome(first), outcome(retry)) == ((200, "handled"), (200, "duplicate"))
    assert calls == ["worker-1"]


def test_a_claim_is_kept_until_forge_can_no_longer_retry(
    forge: FakeForgeJWKS, dispatcher: ForgeEventDispatcher, recorder: Recorder
) -> None:
    # Forge's last retry comes about 4.5 minutes after the first attempt.
    window = FORGE_EVENT_RETRIES * (FORGE_EVENT_TIMEOUT + FORGE_EVENT_RETRY_DELAY)
    assert window < DEFAULT_EVENT_RETENTION == 15 * 60
    start = time.time()
    dispatcher.handle(*forge.event_delivery(ISSUE_CREATED, ISSUE))
    with time_machine.travel(start + DEFAULT_EVENT_RETENTION - 5, tick=False):
        late = dispatcher.handle(*forge.event_delivery(ISSUE_CREATED, ISSUE, retry_count=4))
    assert outcome(late) == (200, "duplicate")
    with time_machine.travel(start + DEFAULT_EVENT_RETENTION + 5, tick=False):
        forgotten = dispatcher.handle(*forge.event_delivery(ISSUE_CREATED, ISSUE, retry_count=4))
    assert outcome(forgotten) == (200, "handled")
    assert len(recorder.events) == 2


# Failures and slow handlers.


def test_a_failed_handler_answers_500_and_forges_retry_runs_it_again(
    forge: FakeForgeJWKS,
    dispatcher: ForgeEventDispatcher,
    recorder: Recorder,
    failures: list[tuple[ForgeEvent, Exception]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder.failures = 1
    headers, body = forge.event_delivery(ISSUE_CREATED, ISSUE)
    with caplog.at_level(logging.DEBUG):
        failed = dispatcher.handle(headers, body)
    assert outcome(failed) == (500, "failed")
    assert json.loads(failed.body) == {"outcome": "failed"}
    [(event, error)] = failures
    assert event.event_type == ISSUE_CREATED and str(error) == "the handler failed"
    assert "handler failed" in caplog.text and ISSUE_CREATED in caplog.text
    assert headers["authorization"].split()[1] not in caplog.text
    assert headers["x-forge-oauth-system"] not in caplog.text
    retry = dispatcher.handle(*forge.event_delivery(ISSUE_CREATED, ISSUE, retry_count=1))
    assert outcome(retry) == (200, "handled")
    again = dispatcher.handle(*forge.event_delivery(ISSUE_CREATED, ISSUE, retry_count=2))
    assert outcome(again) == (200, "duplicate")
    assert len(recorder.events) == 2


def test_a_slow_handler_is_answered_in_time_and_runs_on(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier, store: TenantStore
) -> None:
    dispatcher = ForgeEventDispatcher(verifier, store, answer_within=0.3)
    recorder = Recorder()
    recorder.hold = threading.Event()
    dispatcher.on(ISSUE_CREATED)(recorder)
    started = time.monotonic()
    response = dispatcher.handle(*forge.event_delivery(ISSUE_CREATED, ISSUE))
    assert outcome(response) == (202, "running")
    assert time.monotonic() - started < FORGE_EVENT_TIMEOUT
    # A retry while it runs (Forge did not get the answer) does not start it again.
    retry = dispatcher.handle(*forge.event_delivery(ISSUE_CREATED, ISSUE, retry_count=1))
    assert outcome(retry) == (200, "duplicate")
    recorder.hold.set()
    assert recorder.done.wait(HANG)
    dispatcher.shutdown()
    assert len(recorder.events) == 1


def test_a_slow_handler_that_fails_later_is_reported_and_its_claim_released(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier, store: TenantStore
) -> None:
    reported = threading.Event()
    dispatcher = ForgeEventDispatcher(
        verifier, store, answer_within=0.3, on_failure=lambda event, error: reported.set()
    )
    recorder = Recorder()
    recorder.hold, recorder.failures = threading.Event(), 1
    dispatcher.on(ISSUE_CREATED)(recorder)
    assert dispatcher.handle(*forge.event_delivery(ISSUE_CREATED, ISSUE)).status == 202
    recorder.hold.set()
    assert reported.wait(HANG)
    recorder.hold = None
    retry = dispatcher.handle(*forge.event_delivery(ISSUE_CREATED, ISSUE, retry_count=1))
    dispatcher.shutdown()
    assert outcome(retry) == (200, "handled")
    assert len(recorder.events) == 2


def test_an_on_failure_that_raises_is_logged_and_dropped(
    forge: FakeForgeJWKS,
    verifier: ForgeInvocationVerifier,
    store: TenantStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(event: ForgeEvent, error: Exception) -> None:
        raise ValueError("on_failure is broken too")

    dispatcher = ForgeEventDispatcher(verifier, store, on_failure=broken)
    recorder = Recorder()
    recorder.failures = 1
    dispatcher.on(ISSUE_CREATED)(recorder)
    with caplog.at_level(logging.ERROR):
        assert dispatcher.handle(*forge.event_delivery(ISSUE_CREATED, ISSUE)).status == 500
    dispatcher.shutdown()
    assert "on_failure raised" in caplog.text


def test_a_handler_raising_timeout_error_is_a_failure_not_a_slow_handler(
    forge: FakeForgeJWKS, dispatcher: ForgeEventDispatcher
) -> None:
    @dispatcher.on(ISSUE_CREATED)
    def times_out(event: ForgeEvent) -> None:
        raise TimeoutError("the product did not answer")

    assert outcome(dispatcher.handle(*forge.event_delivery(ISSUE_CREATED, ISSUE))) == (
        500,
        "failed",
    )


# Async.


def test_async_handlers_run_on_the_event_loop(
    forge: FakeForgeJWKS, dispatcher: ForgeEventDispatcher
) -> None:
    seen: list[tuple[ForgeEvent, asyncio.AbstractEventLoop]] = []

    @dispatcher.on(ISSUE_CREATED)
    async def created(event: ForgeEvent) -> None:
        await asyncio.sleep(0)
        seen.append((event, asyncio.get_running_loop()))

    async def deliver() -> tuple[EventResponse, asyncio.AbstractEventLoop]:
        response = await dispatcher.handle_async(*forge.event_delivery(ISSUE_CREATED, ISSUE))
        return response, asyncio.get_running_loop()

    response, loop = asyncio.run(deliver())
    assert outcome(response) == (200, "handled")
    [(event, handler_loop)] = seen
    assert handler_loop is loop and event.event_type == ISSUE_CREATED


def test_sync_handlers_of_an_async_app_run_in_the_dispatchers_threads(
    forge: FakeForgeJWKS, dispatcher: ForgeEventDispatcher, recorder: Recorder
) -> None:
    delivery = forge.event_delivery(ISSUE_CREATED, ISSUE)
    response = asyncio.run(dispatcher.handle_async(*delivery))
    assert outcome(response) == (200, "handled")
    assert recorder.threads[0].startswith("forge-event")


def test_async_handlers_in_a_sync_app_run_on_a_loop_of_their_own(
    forge: FakeForgeJWKS, dispatcher: ForgeEventDispatcher
) -> None:
    seen: list[str] = []

    @dispatcher.on(ISSUE_CREATED)
    async def created(event: ForgeEvent) -> None:
        await asyncio.sleep(0)
        seen.append(event.event_type)

    assert dispatcher.handle(*forge.event_delivery(ISSUE_CREATED, ISSUE)).status == 200
    assert seen == [ISSUE_CREATED]


def test_async_slow_and_failing_handlers(
    forge: FakeForgeJWKS,
    verifier: ForgeInvocationVerifier,
    store: TenantStore,
    failures: list[tuple[ForgeEvent, Exception]],
) -> None:
    dispatcher = ForgeEventDispatcher(
        verifier, store, answer_within=0.3, on_failure=lambda e, error: failures.append((e, error))
    )
    finished: list[str] = []

    @dispatcher.on("avi:jira:updated:issue")
    async def slow(event: ForgeEvent) -> None:
        await asyncio.sleep(0.6)
        finished.append("slow")

    @dispatcher.on("avi:jira:deleted:issue")
    async def failing(event: ForgeEvent) -> None:
        raise RuntimeError("async handler failed")

    async def deliver() -> tuple[EventResponse, EventResponse]:
        slow_answer = await dispatcher.handle_async(
            *forge.event_delivery("avi:jira:updated:issue", ISSUE)
        )
        failed_answer = await dispatcher.handle_async(
            *forge.event_delivery("avi:jira:deleted:issue", ISSUE)
        )
        for _ in range(100):  # the slow one runs on after its answer
            if finished:
                break
            await asyncio.sleep(0.05)
        return slow_answer, failed_answer

    slow_answer, failed_answer = asyncio.run(deliver())
    dispatcher.shutdown()
    assert outcome(slow_answer) == (202, "running") and finished == ["slow"]
    assert outcome(failed_answer) == (500, "failed")
    assert [str(error) for _, error in failures] == ["async handler failed"]


# Routing.


def test_scheduled_triggers_are_routed_by_their_module_key(
    forge: FakeForgeJWKS, dispatcher: ForgeEventDispatcher, product: ProductStandIn
) -> None:
    seen: list[ForgeEvent] = []
    dispatcher.on_schedule("hourly-sync")(seen.append)
    for wrapped in (True, False):
        delivery = forge.scheduled_trigger_delivery("hourly-sync", wrapped=wrapped)
        assert outcome(dispatcher.handle(*delivery)) == (200, "handled")
    assert [(event.event_type, event.scheduled) for event in seen] == [("hourly-sync", True)] * 2
    assert seen[0].payload["context"]["cloudId"] == product.cloud_id
    # Each firing is its own trigger invocation (its own contextToken): both ran.
    assert seen[0].delivery_id != seen[1].delivery_id


def test_a_scheduled_trigger_without_context_is_named_by_the_fits_module(
    forge: FakeForgeJWKS, dispatcher: ForgeEventDispatcher
) -> None:
    seen: list[ForgeEvent] = []
    dispatcher.on_schedule("nightly")(seen.append)
    headers = forge.invocation_headers(module_key="nightly")
    assert dispatcher.handle(headers, b"{}").status == 200
    assert [event.event_type for event in seen] == ["nightly"]


def test_an_event_without_handler_is_acknowledged_and_ignored(
    forge: FakeForgeJWKS,
    dispatcher: ForgeEventDispatcher,
    recorder: Recorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        ignored = dispatcher.handle(*forge.event_delivery("avi:jira:viewed:issue", ISSUE))
        trigger = dispatcher.handle(*forge.scheduled_trigger_delivery("unknown-trigger"))
    assert outcome(ignored) == outcome(trigger) == (200, "ignored")
    assert recorder.events == []
    assert "avi:jira:viewed:issue" in caplog.text and "unknown-trigger" in caplog.text


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"not json", 400), (b"[1, 2]", 400), (b"\xff\xfe", 400), (b"[" * 100_000, 400)],
)
def test_a_body_that_is_no_json_object_is_a_bad_request(
    forge: FakeForgeJWKS,
    dispatcher: ForgeEventDispatcher,
    recorder: Recorder,
    body: bytes,
    status: int,
) -> None:
    response = dispatcher.handle(forge.invocation_headers(), body)
    assert outcome(response) == (status, "bad_request")
    assert recorder.events == []


def test_a_body_larger_than_the_cap_is_refused_unparsed(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier, store: TenantStore
) -> None:
    dispatcher = ForgeEventDispatcher(verifier, store, max_body_bytes=1000)
    headers, body = forge.event_delivery(ISSUE_CREATED, {"big": "x" * 1000})
    assert outcome(dispatcher.handle(headers, body)) == (413, "bad_request")
    small = forge.event_delivery(ISSUE_CREATED, ISSUE)
    assert dispatcher.handle(*small).status == 200  # ignored: no handler, but read
    dispatcher.shutdown()


# Before any handler: the token, the key set, the store.


def test_a_delivery_is_verified_before_its_body_is_read(
    forge: FakeForgeJWKS, dispatcher: ForgeEventDispatcher, recorder: Recorder
) -> None:
    _, body = forge.event_delivery(ISSUE_CREATED, ISSUE)
    with pytest.raises(exc.TokenMissingError):
        dispatcher.handle({}, body)
    with pytest.raises(exc.TokenMissingError):
        dispatcher.handle({}, b"not json")
    other_app = forge.invocation_headers(claims={"aud": "ari:cloud:ecosystem::app/other"})
    with pytest.raises(exc.InvalidAudienceError) as caught:
        dispatcher.handle(other_app, body)
    assert isinstance(caught.value, atlassian_jwt.DecodeError)
    assert recorder.events == []


def test_an_unreachable_key_set_is_a_key_fetch_error(
    forge: FakeForgeJWKS, dispatcher: ForgeEventDispatcher, recorder: Recorder
) -> None:
    forge.respond("GET", "/.well-known/jwks.json", status=503)
    with pytest.raises(atlassian_jwt.KeyFetchError):
        dispatcher.handle(*forge.event_delivery(ISSUE_CREATED, ISSUE))
    assert recorder.events == []


class BrokenClaims(MemoryTenantStore):
    def _claim_event(self, event_sha256: str, expires_at: float, now: float) -> bool:
        raise atlassian_jwt.TenantStoreError("the tenant database is locked")


def test_a_store_that_fails_is_a_tenant_store_error_and_nothing_runs(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier
) -> None:
    dispatcher = ForgeEventDispatcher(verifier, BrokenClaims(app_key=APP_KEY))
    recorder = Recorder()
    dispatcher.on(ISSUE_CREATED)(recorder)
    with pytest.raises(atlassian_jwt.TenantStoreError):
        dispatcher.handle(*forge.event_delivery(ISSUE_CREATED, ISSUE))
    dispatcher.shutdown()
    assert recorder.events == []


def test_every_delivery_keeps_the_installations_app_token(
    forge: FakeForgeJWKS,
    product: ProductStandIn,
    dispatcher: ForgeEventDispatcher,
    store: TenantStore,
) -> None:
    headers, body = forge.scheduled_trigger_delivery("unhandled")
    dispatcher.handle(headers, body)
    assert product.installation_id is not None
    kept = load_app_token(product.installation_id, store)
    assert kept.value == headers["x-forge-oauth-system"]


# Forge's lifecycle events and the Connect tenant.


def test_forges_lifecycle_events() -> None:
    assert FORGE_LIFECYCLE_EVENTS == (FORGE_INSTALLED_EVENT, FORGE_UPGRADED_EVENT)
    assert FORGE_INSTALLED_EVENT == "avi:forge:installed:app"
    assert FORGE_UPGRADED_EVENT == "avi:forge:upgraded:app"


def test_forge_installed_before_connect_installed_is_run_again_once_the_tenant_is_stored(
    forge: FakeForgeJWKS,
    product: ProductStandIn,
    dispatcher: ForgeEventDispatcher,
    store: TenantStore,
    failures: list[tuple[ForgeEvent, Exception]],
) -> None:
    linked: list[str] = []

    @dispatcher.on(FORGE_INSTALLED_EVENT)
    def installed(event: ForgeEvent) -> None:
        tenant = connect_tenant(event.invocation, store)
        linked.append(tenant["clientKey"])

    assert product.installation_id is not None
    payload = {
        "id": product.installation_id.rpartition("/")[2],
        "installerAccountId": "4ad9aa0c52dc1b420a791d12",
        "app": {"id": forge.app_id, "version": "1.0.0"},
        "context": f"ari:cloud:jira::site/{product.cloud_id}",
    }
    # Forge's event comes first: no Connect tenant yet, so 500 and Forge retries.
    first = dispatcher.handle(*forge.event_delivery(FORGE_INSTALLED_EVENT, payload))
    assert outcome(first) == (500, "failed")
    assert isinstance(failures[0][1], exc.ConnectTenantNotFoundError)
    # The Connect installed callback is stored (by the lifecycle handler), then the retry.
    store.save(product.tenant)
    retry = dispatcher.handle(
        *forge.event_delivery(FORGE_INSTALLED_EVENT, payload, retry_count=1)
    )
    assert outcome(retry) == (200, "handled")
    assert linked == [product.tenant["clientKey"]]


# Configuration.


def test_one_handler_per_event_type(dispatcher: ForgeEventDispatcher) -> None:
    dispatcher.on(ISSUE_CREATED, FORGE_INSTALLED_EVENT)(Recorder())
    with pytest.raises(ValueError, match="has a handler already"):
        dispatcher.on(FORGE_INSTALLED_EVENT)(Recorder())
    with pytest.raises(ValueError):
        dispatcher.on()
    with pytest.raises(ValueError):
        dispatcher.on_schedule("")
    dispatcher.on_schedule(ISSUE_CREATED)(Recorder())  # triggers have keys of their own
    assert ISSUE_CREATED in repr(dispatcher) and "Recorder" not in repr(dispatcher)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"answer_within": 0},
        {"answer_within": float("inf")},
        {"retention": -1},
        {"max_body_bytes": 0},
        {"max_workers": 0},
    ],
    ids=str,
)
def test_bad_configuration(
    verifier: ForgeInvocationVerifier, store: TenantStore, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        ForgeEventDispatcher(verifier, store, **kwargs)


def test_the_dispatcher_needs_a_forge_verifier(store: TenantStore) -> None:
    with pytest.raises(TypeError, match="ForgeInvocationVerifier"):
        ForgeEventDispatcher(object(), store)  # type: ignore[arg-type]
