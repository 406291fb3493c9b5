"""A frozen clock that a test moves by hand, for tokens that expire.

The library's verifiers read the time through PyJWT (``datetime.now``), the kit's signers and
stand-ins through :func:`time.time`, and an app may read either: a clock has to move them all
at once, in every thread, or a test signs at one time and verifies at another.
:class:`FrozenClock` does it with `time-machine <https://pypi.org/project/time-machine/>`_,
which replaces the standard library's clock functions for the whole process::

    with FrozenClock() as clock:
        headers = product_request_headers("GET", "/page", tenant)  # signed now
        clock.advance(PRODUCT_TOKEN_LIFETIME + 31)                # past exp and the leeway
        assert client.get("/page", headers=headers).status_code == 401

With time-machine 3 (Python 3.10 and later) the monotonic clocks (:func:`time.monotonic`,
:func:`time.perf_counter`) keep real time, so timeouts and asyncio's timers run as usual while
the wall clock is frozen. time-machine 2, the last release for Python 3.9, freezes
:func:`time.monotonic` as well: there, ``asyncio.sleep`` and other event-loop timers do not
advance while a clock runs, and the frozen clock is best kept to synchronous code. Waits on
threads and sockets (the fake servers', a client's timeout) keep real time with either.

Needs ``time-machine`` (the ``testing`` extra), which runs on CPython only.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Union

from ._requirements import import_time_machine

__all__ = ["FrozenClock", "When"]

#: A point in time: seconds since the epoch, or an aware :class:`~datetime.datetime`.
When = Union[float, dt.datetime]


class FrozenClock:
    """The wall clock of the whole process, frozen at a moment and moved only by the test.

    Use it in a ``with`` block (or :meth:`start` and :meth:`stop`); clocks nest, the innermost
    one wins. The pytest plugin's ``atlassian_clock`` fixture is one, started for the test.

    :param start: when to freeze the clock: seconds since the epoch or an aware datetime; by
        default the current time, rounded down to a whole second, as token times are.
    :raises ImportError: (when started) if ``time-machine`` is not installed.
    :raises ValueError: for a naive datetime (whose time zone would be a guess).
    :raises TypeError: for anything but a number or a datetime.
    """

    def __init__(self, start: When | None = None) -> None:
        self._start = _timestamp(start) if start is not None else float(int(time.time()))
        self._traveller: Any = None
        self._coordinates: Any = None

    def start(self) -> FrozenClock:
        """Freeze the clock at the start time; return the clock.

        :raises RuntimeError: if it is running already.
        """
        if self._traveller is not None:
            raise RuntimeError("The clock is running already")
        time_machine = import_time_machine()
        traveller = time_machine.travel(self._start, tick=False)
        self._coordinates = traveller.start()
        self._traveller = traveller
        return self

    def stop(self) -> None:
        """Give the process its real clock back (a no-op if the clock is not running)."""
        if self._traveller is not None:
            self._traveller.stop()
            self._traveller = self._coordinates = None

    def __enter__(self) -> FrozenClock:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def now(self) -> float:
        """The frozen time, in seconds since the epoch."""
        return time.time() if self._traveller is not None else self._start

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward (backward if negative).

        :raises RuntimeError: if the clock is not running.
        """
        self._running().shift(dt.timedelta(seconds=seconds))

    def set(self, when: When) -> None:
        """Move the clock to ``when``.

        :raises RuntimeError: if the clock is not running.
        :raises ValueError: for a naive datetime.
        """
        self._running().move_to(_timestamp(when))

    def _running(self) -> Any:
        if self._coordinates is None:
            raise RuntimeError("The clock is not running: use it in a with block first")
        return self._coordinates

    def __repr__(self) -> str:
        state = "running" if self._traveller is not None else "stopped"
        return f"FrozenClock({self.now():.0f}, {state})"


def _timestamp(when: When) -> float:
    if isinstance(when, dt.datetime):
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError("Give an aware datetime (with tzinfo), such as one in UTC")
        return when.timestamp()
    if isinstance(when, bool) or not isinstance(when, (int, float)):
        raise TypeError("A time is seconds since the epoch or an aware datetime")
    return float(when)
