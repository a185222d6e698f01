"""One-off runs: check a set of targets once, concurrently, then mail what is worth it.

Targets run on `daemon.workers` threads with at most `daemon.per_host` at once per host. Parsing is CPU work
the GIL serializes, so a large run is split over worker processes (one per core): a host's targets stay in
one process unless per_host allows as many requests at once as there are processes, in which case they are
shared and each process gets its part of per_host. A host never sees more than per_host requests at once.
Shared targets are taken from one queue (an index in shared memory) as each process's threads free up, so a
process that draws slow pages does not leave the other core idle at the end of the run.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from itertools import islice, zip_longest
from typing import Any

from monitor.check import CheckContext, check_target
from monitor.clock import Clock, utcnow
from monitor.daemon.dispatch import Dispatcher, host_of
from monitor.fetch import Archive, Fetcher, stop_thread
from monitor.models import CheckResult, RunReport, Settings, Target
from monitor.notify import notify_run
from monitor.report import SiteUpdates
from monitor.store import SnapshotStore

logger = logging.getLogger(__name__)

MIN_TARGETS_PER_PROCESS = 50  # below this a run stays in one process (forking costs more than it saves)


OnResult = Callable[[CheckResult], None]


def _check_all(settings: Settings, targets: list[Target], site: SiteUpdates, clock: Clock,
               sleep: Callable[[float], None], on_result: OnResult | None = None,
               take: Callable[[], Target | None] | None = None) -> dict[str, CheckResult]:
    """Check `targets` on a thread pool with the per-host limit; return results by target name. `on_result`
    is called with each result as it is ready (one at a time). With `take`, `targets` is empty: a free thread
    asks take() for its next target until it returns None."""
    store = site.store
    local = threading.local()
    fetchers: list[Fetcher] = []
    lock = threading.Lock()
    results: dict[str, CheckResult] = {}
    archive = Archive(settings.archive, settings.fetch, sleep=sleep, clock=clock) \
        if any(t.uses_archive for t in targets) else None

    def work(target: Target) -> None:
        fetcher = getattr(local, "fetcher", None)
        if fetcher is None:  # one Fetcher (one connection pool) per worker thread
            fetcher = local.fetcher = Fetcher(settings.fetch, sleep=sleep, clock=clock)
            with lock:
                fetchers.append(fetcher)
        ctx = CheckContext(fetcher=fetcher, store=store, reports_dir=settings.reports_dir, clock=clock, site=site,
                           lock_wait=settings.daemon.lock_wait, archive=archive)
        result = results[target.name] = check_target(target, ctx)
        if on_result is not None:
            with lock:
                on_result(result)
        following = take() if take is not None else None
        if following is not None and dispatcher is not None:
            dispatcher.submit(following)  # before this one leaves the pool, so join() waits for it

    dispatcher: Dispatcher | None = None
    try:
        if take is None and (len(targets) <= 1 or settings.daemon.workers <= 1):
            for target in targets:
                work(target)
        else:
            dispatcher = Dispatcher(work, workers=settings.daemon.workers, per_host=settings.daemon.per_host,
                                    host_delay=0.0, sleep=sleep, finish=stop_thread)
            # From the queue, one target per thread to begin with; each finished check takes the next.
            for target in targets if take is None else islice(iter(take, None), settings.daemon.workers):
                dispatcher.submit(target)
            dispatcher.join()
    finally:
        for fetcher in fetchers:
            fetcher.close()
        # A browser started for this run ends with it (each pool thread stops its own when the pool ends:
        # Playwright's sync API can only be stopped from the thread that started it).
        stop_thread()
        if archive is not None:
            archive.close()
    return results


_QUEUE: Any = None  # in a worker process: the run's shared next-target index (multiprocessing.Value)


def _join_queue(queue: Any) -> None:
    """Worker process initializer: keep the shared index the process inherited at fork."""
    global _QUEUE
    _QUEUE = queue


def _child(settings: Settings, targets: list[Target], shared: bool) -> tuple[list[CheckResult], set[str]]:
    """Run in a worker process: check `targets` (all of them, or with `shared` those it takes from the run's
    queue) and write their pages; return the results and the targets whose pages changed (the caller
    rewrites the top index and feed once for all processes)."""
    site = SiteUpdates(settings.reports_dir, SnapshotStore(settings.snapshots_dir))
    take = None
    if shared:
        queue = _QUEUE

        def take() -> Target | None:
            with queue.get_lock():
                index = queue.value
                queue.value = index + 1
            return targets[index] if index < len(targets) else None

    results = _check_all(settings, [] if shared else targets, site, utcnow, time.sleep, take=take)
    return list(results.values()), site.flush_targets(utcnow())


def plan_processes(settings: Settings, targets: list[Target],
                   cpus: int) -> tuple[list[tuple[Settings, list[Target]]], bool]:
    """Split a run over up to `cpus` processes, keeping every host within per_host (see the module doc).

    Returns each process's settings and targets, and whether the processes share the hosts: then each has the
    whole run, in turns across the hosts, and takes its next target from the run's queue (runner._child).
    """
    count = min(cpus, len(targets) // MIN_TARGETS_PER_PROCESS)
    if count <= 1:
        return [(settings, targets)], False
    daemon = settings.daemon
    by_host: dict[str, list[Target]] = defaultdict(list)
    for target in targets:
        by_host[host_of(target)].append(target)
    if daemon.per_host >= count:  # each process gets its part of per_host
        part = replace(settings, daemon=replace(daemon, per_host=daemon.per_host // count,
                                                workers=max(1, daemon.workers // count)))
        turns = [t for turn in zip_longest(*by_host.values()) for t in turn if t is not None]
        return [(part, turns) for _ in range(count)], True
    part = replace(settings, daemon=replace(daemon, workers=max(1, daemon.workers // count)))
    slices: list[list[Target]] = [[] for _ in range(count)]
    for host_targets in sorted(by_host.values(), key=len, reverse=True):
        min(slices, key=len).extend(host_targets)
    return [(part, s) for s in slices if s], False


def run_checks(settings: Settings, targets: Iterable[Target], *, clock: Clock = utcnow,
               sleep: Callable[[float], None] = time.sleep, processes: int | None = None,
               on_result: OnResult | None = None) -> RunReport:
    """Check each target once and return the results in the given order; `on_result` sees each result as soon
    as it is ready (a worker process's when that process is done).

    `processes` caps the worker processes (default: the cores; 1 keeps the run in this process, as does an
    injected clock or sleep). The index pages are regenerated once at the end; then, if email is enabled,
    reports are mailed through the outbox (they are on disk first).
    """
    targets = list(targets)
    started = clock()
    store = SnapshotStore(settings.snapshots_dir)
    site = SiteUpdates(settings.reports_dir, store)
    injected = clock is not utcnow or sleep is not time.sleep
    cpus = 1 if injected else (processes or int(os.environ.get("MONITOR_PROCESSES", 0)) or os.cpu_count() or 1)
    plan, shared = plan_processes(settings, targets, cpus)
    if len(plan) == 1:
        results = _check_all(plan[0][0], plan[0][1], site, clock, sleep, on_result)
    else:
        results = {}
        context = multiprocessing.get_context("fork")
        queue = context.Value("q", 0) if shared else None
        with ProcessPoolExecutor(len(plan), mp_context=context, initializer=_join_queue,
                                 initargs=(queue,)) as pool:
            for future in as_completed([pool.submit(_child, part, chunk, shared) for part, chunk in plan]):
                done, touched = future.result()
                results.update((r.target, r) for r in done)
                for result in done if on_result is not None else ():
                    on_result(result)
                if touched:
                    site.touch_index()
    site.flush(clock())
    report = RunReport(started_at=started, finished_at=clock(), results=tuple(results[t.name] for t in targets))
    return notify_run(settings, report, clock())
