"""Forge events and scheduled triggers delivered to a remote: verify, answer fast, run once.

Forge delivers product events (``avi:jira:created:issue``...), its own lifecycle events
(:data:`FORGE_INSTALLED_EVENT`, :data:`FORGE_UPGRADED_EVENT`) and scheduled triggers to a
remote endpoint as a ``POST`` with a FIT. It waits :data:`FORGE_EVENT_TIMEOUT` seconds for an
answer; a timeout or any status but 2xx makes it deliver the event again, a minute later, up to
:data:`FORGE_EVENT_RETRIES` times. :class:`ForgeEventDispatcher` turns that contract into
handlers that run once per event::

    dispatcher = ForgeEventDispatcher(verifier, store)

    @dispatcher.on("avi:jira:created:issue")
    def issue_created(event: ForgeEvent) -> None:
        queue.put(event.payload["issue"]["key"])

    @dispatcher.on(FORGE_INSTALLED_EVENT)
    def installed(event: ForgeEvent) -> None:
        tenant = connect_tenant(event.invocation, store)  # Connect on Forge
        ...

    @dispatcher.on_schedule("hourly-sync")
    def hourly(event: ForgeEvent) -> None:
        ...

and one route per framework that hands it the request (``forge_event_view`` in
:mod:`~atlassian_jwt.integrations.flask_ext` and :mod:`~atlassian_jwt.integrations.django_ext`,
``forge_event_endpoint`` in :mod:`~atlassian_jwt.integrations.starlette_ext`), or
:meth:`ForgeEventDispatcher.handle` called by hand.

**The body.** Forge's documentation shows the event as the whole body and, for remotes, wrapped
in ``{"payload": {...}}``; both are read. The event's type is its ``eventType``; a body without
one is a scheduled trigger, named by its ``context.moduleKey`` (the ``scheduledTrigger``
module's key), else by the FIT's module key. The FIT does not sign the body (it carries no hash
of it): the body is what came with a genuine token.

**The identity of an event.** Atlassian sends no event id. A retry carries the same event with
a ``retryContext`` added (``retryCount``, ``retryReason``), and a new FIT: each attempt gets its
own (its ``jti`` and times differ, and it expires sooner than the minute between attempts), so
the token cannot say that two deliveries are one event. The identity of a delivered event is
therefore the SHA-256 (:attr:`ForgeEvent.delivery_id`) of: the installation
(``app.installationId`` of the verified FIT), whether it is an event or a scheduled trigger, its
type, and the event itself without ``retryContext``, as canonical JSON.

**Where it is kept, and how long.** The hash (nothing else of the event) is claimed in the
tenant store (:meth:`~atlassian_jwt.tenants.TenantStore.claim_event`): in the database for
:class:`~atlassian_jwt.tenants.SQLiteTenantStore` and the SQLAlchemy store, so all the app's
processes and machines share it; in the process for
:class:`~atlassian_jwt.tenants.MemoryTenantStore`. It is kept for ``retention`` seconds
(:data:`DEFAULT_EVENT_RETENTION`, 15 minutes): Forge's last retry comes about four and a half
minutes after the first attempt (4 retries a minute apart, after attempts of at most 5
seconds), so a retry always finds the claim of its event, with room for delays. Expired claims
are deleted as new ones are made.

**Once per event.** A delivery with ``retryContext`` whose event is claimed is a retry of an
event this app accepted: it is answered 200 (``duplicate``) and its handler is not run again.
A delivery without ``retryContext`` is always run: it is a new event, even when it is the same
as an earlier one (a user viewing an issue twice sends two equal events).

**Failures and slow handlers.** A handler runs in a worker thread (an ``async def`` handler, in
:meth:`ForgeEventDispatcher.handle_async`, as a task on the event loop), and the delivery is
answered within ``answer_within`` seconds of its arrival (:data:`DEFAULT_ANSWER_WITHIN`, below
Forge's 5), verification included:

* the handler returned: 200 (``handled``);
* the handler raised: the claim is released, the failure logged (logger ``atlassian_jwt.forge``,
  with the traceback) and passed to ``on_failure``, and the answer is 500 (``failed``), so that
  Forge delivers the event again and the retry runs the handler again, up to Forge's 4 retries;
* the handler is still running: 202 (``running``), and it runs on. Forge counts the event as
  delivered and will not retry it: if the handler then fails, its claim is released and the
  failure logged and passed to ``on_failure``, and nothing retries it. Work that must survive a
  crash belongs in a durable queue: make the handler put it there (Atlassian's own advice for
  remote events), and it returns in time.

A retry that arrives while its event's handler is still running is answered 200
(``duplicate``). Before the handler runs, a rejected FIT is a
:class:`~atlassian_jwt.DecodeError` (answer 401), and a key set or a store that cannot be used
a :class:`~atlassian_jwt.KeyFetchError` or :class:`~atlassian_jwt.tenants.TenantStoreError`
(answer 503, and Forge retries): :meth:`ForgeEventDispatcher.handle` raises those for the
framework helper to answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import logging
import threading
import time
from collections.abc import Awaitable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, TypeVar, Union

from ..exceptions import TenantStoreError
from ..tokens import Headers
from .background import keep_app_token
from .invocation import ForgeInvocation, frozen_json
from .verify import ForgeInvocationVerifier

if TYPE_CHECKING:
    from ..tenants import TenantStore

__all__ = [
    "DEFAULT_ANSWER_WITHIN",
    "DEFAULT_EVENT_RETENTION",
    "DEFAULT_MAX_EVENT_BYTES",
    "EVENT_WRAPPER",
    "FORGE_EVENT_RETRIES",
    "FORGE_EVENT_RETRY_DELAY",
    "FORGE_EVENT_TIMEOUT",
    "FORGE_INSTALLED_EVENT",
    "FORGE_LIFECYCLE_EVENTS",
    "FORGE_UPGRADED_EVENT",
    "RETRY_CONTEXT",
    "EventResponse",
    "ForgeEvent",
    "ForgeEventDispatcher",
    "Handler",
    "HandlerT",
    "OnFailure",
]

logger = logging.getLogger("atlassian_jwt.forge")

#: Sent when the app is installed on a site.
FORGE_INSTALLED_EVENT = "avi:forge:installed:app"
#: Sent when an installation is upgraded to a new major version.
FORGE_UPGRADED_EVENT = "avi:forge:upgraded:app"
#: Forge's app lifecycle events that a remote can subscribe to.
FORGE_LIFECYCLE_EVENTS = (FORGE_INSTALLED_EVENT, FORGE_UPGRADED_EVENT)

#: Seconds Forge waits for a remote's answer to an event or a scheduled trigger.
FORGE_EVENT_TIMEOUT = 5.0
#: How many times Forge delivers an event again after a timeout or a status other than 2xx.
FORGE_EVENT_RETRIES = 4
#: Seconds between Forge's attempts to deliver an event to a remote.
FORGE_EVENT_RETRY_DELAY = 60.0

#: Seconds after a delivery's arrival by which it is answered, whatever its handler does.
DEFAULT_ANSWER_WITHIN = 4.0
#: Seconds an event's claim is kept: well past Forge's last retry (about 4.5 minutes after the
#: first attempt: :data:`FORGE_EVENT_RETRIES` x (:data:`FORGE_EVENT_TIMEOUT` +
#: :data:`FORGE_EVENT_RETRY_DELAY`)).
DEFAULT_EVENT_RETENTION = 15 * 60
#: A larger body is refused (413) before it is parsed.
DEFAULT_MAX_EVENT_BYTES = 1024 * 1024

#: The member Forge adds to an event it delivers again.
RETRY_CONTEXT = "retryContext"
#: The top-level member that wraps the event in the body of a remote delivery, as Forge's
#: documentation of retries shows it (``{"payload": {...}}``).
EVENT_WRAPPER = "payload"

#: What a handler is: a function of the event, or an ``async def`` one.
Handler = Callable[["ForgeEvent"], Union[None, Awaitable[None]]]
#: Called with the event and the exception when a handler fails.
OnFailure = Callable[["ForgeEvent", Exception], None]

#: The type of the function a registration decorator (:meth:`ForgeEventDispatcher.on`,
#: :meth:`ForgeEventDispatcher.on_schedule`) takes and returns unchanged: a :data:`Handler`.
HandlerT = TypeVar("HandlerT", bound=Handler)


@dataclass(frozen=True)
class ForgeEvent:
    """One delivered event or scheduled trigger, as a handler gets it. Immutable."""

    #: The ``eventType`` (``avi:jira:created:issue``), or, for a scheduled trigger, the module
    #: key it was registered under with :meth:`ForgeEventDispatcher.on_schedule`.
    event_type: str
    #: Whether it is a scheduled trigger.
    scheduled: bool
    #: The event as Forge sent it, ``retryContext`` included, read-only.
    payload: Mapping[str, Any] = field(repr=False)
    #: The verified invocation that delivered it: the installation, the API base URL and, when
    #: the endpoint asks for it, the app token for calling the product.
    invocation: ForgeInvocation
    #: The SHA-256 (hex) of the event's identity; the same for every retry of one event (see
    #: the module's notes).
    delivery_id: str
    #: 0 for the first attempt, else Forge's ``retryContext.retryCount``.
    retry_count: int
    #: ``retryContext.retryReason`` (``TIMEOUT_ERROR``, ``INVALID_REMOTE_INVOCATION_ERROR``...),
    #: or ``None``.
    retry_reason: str | None

    @property
    def installation_id(self) -> str:
        """The installation ARI the event is for (``invocation.installation_id``)."""
        return self.invocation.installation_id


class EventResponse(NamedTuple):
    """What to answer Forge, once a delivery's FIT is verified.

    :ivar status: 200 (``handled``, ``duplicate``, ``ignored``), 202 (``running``), 400 or 413
        (``bad_request``), 500 (``failed``).
    :ivar outcome: what happened, one word (see :attr:`status`); also the JSON body.
    :ivar delivery_id: the event's identity, once known.
    """

    status: int
    outcome: str
    delivery_id: str | None = None

    @property
    def body(self) -> bytes:
        """``{"outcome": "<outcome>"}``: the remote contract answers JSON."""
        return json.dumps({"outcome": self.outcome}).encode()

    @property
    def headers(self) -> dict[str, str]:
        """``Content-Type: application/json``."""
        return {"Content-Type": "application/json"}


class _Accepted(NamedTuple):
    handler: Handler
    event: ForgeEvent


class ForgeEventDispatcher:
    """Verify Forge event deliveries, answer them in time and run each event's handler once.

    See the module's notes for the identity of an event, where it is kept, and what happens
    when a handler fails or is slow.

    :param verifier: the app's :class:`~atlassian_jwt.ForgeInvocationVerifier`.
    :param store: the tenant store: it keeps the claims of delivered events and, from every
        delivery that brings one, the installation's app token
        (:func:`~atlassian_jwt.forge.keep_app_token`). A store shared by the app's processes
        (SQLite, SQLAlchemy) recognises retries whichever process gets them.
    :param answer_within: seconds after a delivery's arrival by which it is answered; keep it
        below :data:`FORGE_EVENT_TIMEOUT`.
    :param retention: seconds an event's claim is kept; keep it above Forge's retry window.
    :param max_body_bytes: a larger body is refused (413) before it is parsed.
    :param max_workers: threads that run handlers (a handler still running when its delivery
        is answered keeps its thread).
    :param on_failure: called as ``on_failure(event, error)`` when a handler raises (from the
        handler's thread or task); its own exceptions are logged and dropped.
    :raises TypeError: if ``verifier`` is not a ``ForgeInvocationVerifier``.
    :raises ValueError: for a time or size that is not positive.
    """

    def __init__(
        self,
        verifier: ForgeInvocationVerifier,
        store: TenantStore,
        *,
        answer_within: float = DEFAULT_ANSWER_WITHIN,
        retention: float = DEFAULT_EVENT_RETENTION,
        max_body_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        max_workers: int = 8,
        on_failure: OnFailure | None = None,
    ) -> None:
        if not isinstance(verifier, ForgeInvocationVerifier):
            raise TypeError(
                "ForgeEventDispatcher needs a ForgeInvocationVerifier, not "
                f"{type(verifier).__name__}"
            )
        for name, value in (("answer_within", answer_within), ("retention", retention)):
            if not isinstance(value, (int, float)) or not value > 0 or value == float("inf"):
                raise ValueError(f"{name} must be a positive number of seconds")
        if max_body_bytes <= 0 or max_workers <= 0:
            raise ValueError("max_body_bytes and max_workers must be positive")
        self.verifier = verifier
        self.store = store
        self.answer_within = float(answer_within)
        self.retention = float(retention)
        self.max_body_bytes = max_body_bytes
        self.on_failure = on_failure
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="forge-event")
        self._events: dict[str, Handler] = {}
        self._schedules: dict[str, Handler] = {}
        self._lock = threading.Lock()
        # Tasks of async handlers still running after their answer: kept so that they finish.
        self._background: set[asyncio.Future[None]] = set()

    def on(self, *event_types: str) -> Callable[[HandlerT], HandlerT]:
        """Register the decorated function as the handler of these event types.

        :param event_types: ``eventType`` values, such as ``avi:jira:created:issue`` or
            :data:`FORGE_INSTALLED_EVENT`.
        :raises ValueError: if no type is given, one is not a non-empty string, or one has a
            handler already.
        """
        return self._register(self._events, event_types, "event type")

    def on_schedule(self, *module_keys: str) -> Callable[[HandlerT], HandlerT]:
        """Register the decorated function as the handler of these scheduled triggers.

        :param module_keys: the keys of the ``scheduledTrigger`` modules in the manifest.
        :raises ValueError: as for :meth:`on`.
        """
        return self._register(self._schedules, module_keys, "scheduled trigger")

    def _register(
        self, table: dict[str, Handler], keys: tuple[str, ...], what: str
    ) -> Callable[[HandlerT], HandlerT]:
        if not keys or not all(isinstance(key, str) and key for key in keys):
            raise ValueError(f"Name at least one {what}, as non-empty strings")

        def register(handler: HandlerT) -> HandlerT:
            with self._lock:
                taken = [key for key in keys if key in table]
                if taken:
                    raise ValueError(f"The {what} {taken[0]!r} has a handler already")
                table.update(dict.fromkeys(keys, handler))
            return handler

        return register

    def handle(self, headers: Headers | None, body: bytes) -> EventResponse:
        """Handle one delivery, for a synchronous framework: verify, claim, run, answer.

        :param headers: the request headers.
        :param body: the raw request body.
        :returns: what to answer (see :class:`EventResponse`), within ``answer_within``
            seconds of the call.
        :raises DecodeError: if the FIT is rejected: answer 401.
        :raises KeyFetchError: if Forge's key set cannot be fetched: answer 503.
        :raises TenantStoreError: if the store cannot be used: answer 503.
        """
        started = time.monotonic()
        accepted = self._accept(headers, body)
        if isinstance(accepted, EventResponse):
            return accepted
        handler, event = accepted
        future = self._executor.submit(self._run, handler, event)
        done = wait([future], timeout=self._time_left(started)).done
        if not done:
            future.add_done_callback(_retrieve)
            return EventResponse(202, "running", event.delivery_id)
        if future.exception() is not None:
            return EventResponse(500, "failed", event.delivery_id)
        return EventResponse(200, "handled", event.delivery_id)

    async def handle_async(self, headers: Headers | None, body: bytes) -> EventResponse:
        """Handle one delivery, for an asynchronous framework; see :meth:`handle`.

        The verification and the store run in a worker thread; an ``async def`` handler runs as
        a task on the running loop, any other in the dispatcher's threads.
        """
        started = time.monotonic()
        accepted = await asyncio.to_thread(self._accept, headers, body)
        if isinstance(accepted, EventResponse):
            return accepted
        handler, event = accepted
        running: asyncio.Future[None]
        if inspect.iscoroutinefunction(handler):
            running = asyncio.ensure_future(self._run_async(handler, event))
        else:
            loop = asyncio.get_running_loop()
            running = loop.run_in_executor(self._executor, self._run, handler, event)
        done, _ = await asyncio.wait({running}, timeout=self._time_left(started))
        if not done:
            self._background.add(running)
            running.add_done_callback(self._background.discard)
            running.add_done_callback(_retrieve)
            return EventResponse(202, "running", event.delivery_id)
        if running.exception() is not None:
            return EventResponse(500, "failed", event.delivery_id)
        return EventResponse(200, "handled", event.delivery_id)

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop the handler threads, after the handlers running now if ``wait``."""
        self._executor.shutdown(wait=wait)

    def _time_left(self, started: float) -> float:
        return max(0.0, self.answer_within - (time.monotonic() - started))

    def _accept(self, headers: Headers | None, body: bytes) -> _Accepted | EventResponse:
        """Verify the delivery and claim its event; the handler to run, or the answer."""
        invocation = self.verifier.verify_request(headers)
        keep_app_token(invocation, self.store)
        if len(body) > self.max_body_bytes:
            logger.warning("Forge event refused: a body of %d bytes is too large", len(body))
            return EventResponse(413, "bad_request")
        payload = _event_payload(body)
        if payload is None:
            logger.warning("Forge event refused: the body is not a JSON object")
            return EventResponse(400, "bad_request")
        event_type = payload.get("eventType")
        scheduled = not isinstance(event_type, str) or not event_type
        if scheduled:
            context = payload.get("context")
            module_key = context.get("moduleKey") if isinstance(context, Mapping) else None
            event_type = module_key if isinstance(module_key, str) else invocation.module_key
        handler = (self._schedules if scheduled else self._events).get(event_type or "")
        if handler is None or event_type is None:
            kind = "scheduled trigger" if scheduled else "event"
            logger.warning("Forge %s ignored: no handler for %r", kind, event_type)
            return EventResponse(200, "ignored")
        retry_count, retry_reason = _retry(payload.get(RETRY_CONTEXT))
        delivery_id = _identity(invocation.installation_id, scheduled, event_type, payload)
        claimed = self.store.claim_event(delivery_id, expires_at=time.time() + self.retention)
        if retry_count and not claimed:
            logger.info(
                "Forge %r retry %d is a duplicate: delivery %s was accepted before",
                event_type,
                retry_count,
                delivery_id[:16],
            )
            return EventResponse(200, "duplicate", delivery_id)
        event = ForgeEvent(
            event_type=event_type,
            scheduled=scheduled,
            payload=frozen_json(payload),
            invocation=invocation,
            delivery_id=delivery_id,
            retry_count=retry_count,
            retry_reason=retry_reason,
        )
        return _Accepted(handler, event)

    def _run(self, handler: Handler, event: ForgeEvent) -> None:
        """Run a handler in a worker thread (an awaitable it returns on a loop of its own)."""
        try:
            result = handler(event)
            if inspect.isawaitable(result):
                asyncio.run(_awaited(result))
        except Exception as error:
            self._failed(event, error)
            raise

    async def _run_async(self, handler: Handler, event: ForgeEvent) -> None:
        try:
            result = handler(event)
            if inspect.isawaitable(result):
                await result
        except Exception as error:
            await asyncio.to_thread(self._failed, event, error)
            raise

    def _failed(self, event: ForgeEvent, error: Exception) -> None:
        """Release the event's claim, so that a retry runs it again; log and report."""
        try:
            self.store.release_event(event.delivery_id)
        except TenantStoreError as store_error:
            logger.error("Forge event claim not released: %s", store_error.code)
        logger.error(
            "Forge %r handler failed (delivery %s, attempt %d)",
            event.event_type,
            event.delivery_id[:16],
            event.retry_count + 1,
            exc_info=error,
        )
        if self.on_failure is not None:
            try:
                self.on_failure(event, error)
            except Exception:
                logger.exception("on_failure raised for Forge %r", event.event_type)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.verifier.app_ari!r}, events={sorted(self._events)}, "
            f"schedules={sorted(self._schedules)})"
        )


def _event_payload(body: bytes) -> dict[str, Any] | None:
    """The event in a delivery's body, or ``None`` if the body is not a JSON object."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # not JSON or not UTF-8; absurdly deep nesting
        return None
    if not isinstance(document, dict):
        return None
    wrapped = document.get(EVENT_WRAPPER)
    if "eventType" not in document and isinstance(wrapped, dict):
        return wrapped
    return document


def _retry(context: Any) -> tuple[int, str | None]:
    """The retry count and reason of ``retryContext``: ``(0, None)`` for a first attempt."""
    if not isinstance(context, Mapping):
        return 0, None
    count = context.get("retryCount")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        count = 1  # a retry, whatever its count says
    reason = context.get("retryReason")
    return count, (reason if isinstance(reason, str) else None)


def _identity(
    installation_id: str, scheduled: bool, event_type: str, payload: Mapping[str, Any]
) -> str:
    event = {name: value for name, value in payload.items() if name != RETRY_CONTEXT}
    canonical = json.dumps(
        [installation_id, "scheduled" if scheduled else "event", event_type, event],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


async def _awaited(awaitable: Awaitable[Any]) -> None:
    await awaitable


def _retrieve(future: Future[Any] | asyncio.Future[Any]) -> None:
    # A handler's failure was logged by the dispatcher; this marks it seen, so that asyncio
    # does not log it again as "never retrieved".
    if not future.cancelled():
        future.exception()
