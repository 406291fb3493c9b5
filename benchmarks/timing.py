"""The one timing loop, shared by the benchmark and the old package's worker.

Both implementations are timed by this same function, so that neither pays for a different
loop (Node's worker has the same loop, in JavaScript). Standard library only: the worker
imports it inside the old package's environment.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

#: Consecutive items timed together. A pass over a corpus takes tens of milliseconds, which
#: on a shared machine another process nearly always interrupts somewhere; a chunk takes a
#: millisecond or less, and over a few rounds each chunk is timed undisturbed at least once.
CHUNK = 32


def time_pass(
    call: Callable[..., Any], items: Sequence[tuple[Any, ...]], chunk: int = CHUNK
) -> list[int]:
    """Call ``call(*args)`` once for each ``args`` in ``items``; return each chunk's nanoseconds.

    The items are timed in chunks of ``chunk`` consecutive items, one clock reading between
    two chunks; the sum of the chunks is the time of the pass. The garbage collector is
    paused during the pass, as :mod:`timeit` pauses it, so that a collection triggered by one
    implementation's garbage is not billed to the other.
    """
    times = []
    clock = time.perf_counter_ns
    with paused_gc():
        for batch in batches(items, chunk):
            start = clock()
            for args in batch:
                call(*args)
            times.append(clock() - start)
    return times


def batches(items: Sequence[T], chunk: int = CHUNK) -> list[Sequence[T]]:
    """Cut ``items`` into chunks of ``chunk`` consecutive items (the last may be shorter)."""
    return [items[start : start + chunk] for start in range(0, len(items), chunk)]


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Collect garbage, then pause the collector until the block ends."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def best_time(
    call: Callable[..., Any],
    args: tuple[Any, ...],
    repeat: int = 9,
    at_least_ns: int = 300_000_000,
) -> float:
    """Return the nanoseconds one call of ``call(*args)`` takes: the best of its batches.

    For the scaling table, where one call takes from microseconds to milliseconds: a batch
    repeats the call until it lasts at least a few milliseconds, so that the clock's resolution
    and the pass's own overhead stay negligible. At least ``repeat`` batches, and as many more
    as fill ``at_least_ns`` in all: nine, not five, because with five a burst of load sometimes
    disturbed all of one size's batches and failed the growth target; and the time as well,
    because a call on 10,000 parameters lasts 20 ms, so that its nine batches took a fifth of a
    second, which another tenant's burst of memory traffic on a shared machine could cover
    whole (the growth from 1,000 to 10,000 parameters then read 1.8 times what n log n allows,
    where it is 0.9 measured alone).
    """
    number = 1
    while True:
        elapsed = sum(time_pass(call, [args] * number))
        if elapsed >= 5_000_000:
            break
        number *= 10 if elapsed < 500_000 else 2
    best = total = elapsed
    batches_done = 1
    while batches_done < repeat or total < at_least_ns:
        elapsed = sum(time_pass(call, [args] * number))
        best = min(best, elapsed)
        total += elapsed
        batches_done += 1
    return best / number
