"""How many checks a process runs at once: as many as keep its core busy, no more (an adaptive limit).

A check is mostly waiting on the network when the site is slow and mostly CPU (parse, cut, diff) when it is
fast. Python runs one thread at a time, so when the process's core is already saturated, more threads in a
check only trade the interpreter lock at every system call: 10 threads on one core made 330,000 futex calls
in a 500-page round where 2 threads made 38,000, and spent 40 % more CPU for the same pages.

`Gate` admits at most `limit` checks at once. It starts at `floor` (2: one computing while one waits on the
network) and, every `window` seconds, compares what the process asked of its core with the time passed:
the CPU its threads used plus the time they stood runnable waiting for a core (Linux schedstat; the
interpreter lock's sleepers count in neither). Below LOW, with checks waiting at the gate, the core is left
idle by network waits and the limit doubles (up to `ceiling`, the configured workers); above HIGH the
core is saturated and the limit shrinks by one. A run of slow pages opens the gate to all workers within a
second; a run of fast pages keeps two threads.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from types import TracebackType

logger = logging.getLogger(__name__)

LOW, HIGH = 0.75, 0.95  # share of one core asked for: below, double the limit; above, take one off
_TASKS = "/proc/self/task"


def process_demand() -> float:
    """Return the seconds this process's threads have run or stood runnable waiting for a core (Linux
    schedstat), or where that is not readable, the CPU seconds used (which misses the waiting)."""
    total = 0
    try:
        for task in os.listdir(_TASKS):
            try:
                with open(f"{_TASKS}/{task}/schedstat", "rb") as fh:
                    run, wait, _ = fh.read().split(None, 2)
            except (OSError, ValueError):
                continue  # a thread that ended meanwhile
            total += int(run) + int(wait)
    except OSError:
        return time.process_time()
    return total / 1e9


class Gate:
    """Admits at most `limit` callers at once (`with gate:`), the limit kept between `floor` and `ceiling`
    from the process's demand for its core (see the module doc)."""

    def __init__(self, ceiling: int, *, floor: int = 2, window: float = 0.25,
                 demand: Callable[[], float] = process_demand,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ceiling = max(1, ceiling)
        self.floor = min(max(1, floor), self.ceiling)
        self.limit = self.floor
        self._window = window
        self._demand = demand
        self._monotonic = monotonic
        self._cond = threading.Condition()
        self._inside = 0
        self._queued = False  # a caller had to wait since the last adjustment
        self._mark = (monotonic(), demand())

    def __enter__(self) -> Gate:
        with self._cond:
            while self._inside >= self.limit:
                self._queued = True
                self._cond.wait(self._window)  # wakes to adjust even when no one leaves (all on a slow network)
                self._adjust()
            self._inside += 1
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        with self._cond:
            self._inside -= 1
            self._adjust()
            self._cond.notify()

    def _adjust(self) -> None:
        """Once a window has passed, move the limit by the demand measured over it (the caller holds the lock)."""
        now = self._monotonic()
        started, used = self._mark
        if now - started < self._window:
            return
        demand = self._demand()
        busy = (demand - used) / (now - started)
        self._mark = (now, demand)
        if busy < LOW and self._queued and self.limit < self.ceiling:
            self.limit = min(self.ceiling, self.limit * 2)
            logger.debug("core %.0f %% busy with checks waiting: up to %d at once", busy * 100, self.limit)
            self._cond.notify_all()
        elif busy > HIGH and self.limit > self.floor:
            self.limit -= 1
            logger.debug("core %.0f %% busy: down to %d checks at once", busy * 100, self.limit)
        self._queued = False
