"""The one timing loop, shared by the benchmark and the old package's worker.

Both implementations are timed by this same function, so that neither pays for a different
loop. Standard library only: the worker imports it inside the old package's environment.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from typing import Any


def time_pass(call: Callable[..., Any], items: Sequence[tuple[Any, ...]]) -> int:
    """Call ``call(*args)`` once for each ``args`` in ``items``; return the nanoseconds taken.

    The garbage collector is paused during the pass, as :mod:`timeit` pauses it, so that a
    collection triggered by one implementation's garbage is not billed to the other.
    """
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for args in items:
            call(*args)
        return time.perf_counter_ns() - start
    finally:
        gc.enable()


def best_time(call: Callable[..., Any], args: tuple[Any, ...], repeat: int = 5) -> float:
    """Return the nanoseconds one call of ``call(*args)`` takes: the best of ``repeat`` batches.

    For the scaling table, where one call takes from microseconds to milliseconds: a batch
    repeats the call until it lasts at least a few milliseconds, so that the clock's resolution
    and the pass's own overhead stay negligible.
    """
    number = 1
    while True:
        elapsed = time_pass(call, [args] * number)
        if elapsed >= 5_000_000:
            break
        number *= 10 if elapsed < 500_000 else 2
    best = elapsed
    for _ in range(repeat - 1):
        best = min(best, time_pass(call, [args] * number))
    return best / number
