"""A bounded worker pool that runs checks with a per-host concurrency limit and spacing.

Scheduler jobs only hand targets to the Dispatcher. A busy host queues its own targets instead of
occupying workers, so one slow host cannot starve the others, and no host sees more than `per_host`
requests at once or two request starts closer than `host_delay` seconds. Of the `workers` threads only
as many run checks at once as keep the core busy (gate.py): the rest would only contend for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from monitor.daemon.gate import Gate
from monitor.models import Target

logger = logging.getLogger(__name__)


def host_of(target: Target) -> str:
    """Return the host:port a target's requests go to (the unit of politeness)."""
    parts = urlsplit(target.url)
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


class Dispatcher:
    """Runs `work(target)` on a pool of `workers` threads, at most `per_host` at once per host."""

    def __init__(self, work: Callable[[Target], object], *, workers: int, per_host: int, host_delay: float,
                 sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic,
                 finish: Callable[[], None] | None = None, gate: Gate | None = None) -> None:
        """`finish`, if given, runs once in every worker thread when the pool shuts down (after all its work).
        `gate` admits the checks that run at once (default: an adaptive Gate up to `workers`)."""
        self._work = work
        self._workers = workers
        self._finish = finish
        self._per_host = per_host
        self._host_delay = host_delay
        self._last_start: dict[str, float] = {}
        self._sleep = sleep
        self._monotonic = monotonic
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="check")
        self._gate = gate or Gate(workers)
        self._cond = threading.Condition()
        self._active: dict[str, int] = defaultdict(int)
        self._pending: dict[str, deque[Target]] = defaultdict(deque)
        self._queued: set[str] = set()
        self._next_start: dict[str, float] = {}
        self._running = 0
        self._closed = False

    def submit(self, target: Target) -> bool:
        """Queue a check of `target`; return False if it is already queued or running, or we are stopping."""
        with self._cond:
            if self._closed or target.name in self._queued:
                return False
            self._queued.add(target.name)
            host = host_of(target)
            if self._active[host] < self._per_host:
                self._active[host] += 1
                self._start(target, host)
            else:
                self._pending[host].append(target)
                logger.debug("%s: waiting for host %s", target.name, host)
            return True

    def busy(self) -> int:
        """Return how many checks are running or waiting."""
        with self._cond:
            return len(self._queued)

    def _start(self, target: Target, host: str) -> None:
        """Start `target` on the pool (caller holds the lock and a slot for `host`)."""
        now = self._monotonic()
        start_at = max(now, self._next_start.get(host, now))
        self._next_start[host] = start_at + self._host_delay
        self._running += 1
        self._pool.submit(self._run, target, host, start_at - now)

    def _wait_turn(self, host: str, delay: float) -> None:
        """Sleep the reserved `delay`, then until `host_delay` has passed since the host's last actual start
        (a reservation alone is not enough: a thread that wakes late would bring the next start closer)."""
        if delay > 0:
            self._sleep(delay)
        while True:
            with self._cond:
                now = self._monotonic()
                last = self._last_start.get(host)
                wait = last + self._host_delay - now if last is not None else 0.0
                if wait <= 0 or self._closed:
                    self._last_start[host] = now
                    return
            self._sleep(wait)

    def _run(self, target: Target, host: str, delay: float) -> None:
        try:
            with self._gate:  # first: a wait here must not come between the host's turn and the request
                self._wait_turn(host, delay)
                if not self._closed:
                    self._work(target)
        except Exception:  # work() turns failures into results; this is the last line of defence
            logger.exception("%s: check crashed", target.name)
        finally:
            with self._cond:
                self._queued.discard(target.name)
                self._running -= 1
                pending = self._pending[host]
                if pending and not self._closed:
                    self._start(pending.popleft(), host)  # the slot passes to the next target on this host
                else:
                    self._active[host] -= 1
                self._cond.notify_all()

    def join(self) -> None:
        """Wait until every submitted check has run, then shut the pool down."""
        with self._cond:
            self._cond.wait_for(lambda: not self._queued)
        self._finish_threads()
        self._pool.shutdown(wait=True)

    def _finish_threads(self, timeout: float = 30.0) -> None:
        """Run `finish` in each worker thread: one task per thread, each holding its thread at a barrier until
        all are running, so no thread takes two (thread-bound resources, like Playwright's, are freed)."""
        if self._finish is None:
            return
        barrier = threading.Barrier(self._workers)
        finish = self._finish

        def one() -> None:
            try:
                barrier.wait(timeout)
            except threading.BrokenBarrierError:
                logger.debug("a worker thread was still busy; finishing it anyway")
            try:
                finish()
            except Exception:
                logger.exception("finishing a worker thread")

        for future in [self._pool.submit(one) for _ in range(self._workers)]:
            future.result()

    def close(self, grace: float) -> bool:
        """Stop taking work, drop what is waiting, wait up to `grace` s for running checks; return True if all ended."""
        with self._cond:
            self._closed = True
            for name in [t.name for queue in self._pending.values() for t in queue]:
                self._queued.discard(name)
            self._pending.clear()
            ended = self._cond.wait_for(lambda: self._running == 0, timeout=grace)
        if ended:
            self._finish_threads()
        self._pool.shutdown(wait=ended, cancel_futures=True)
        return ended
