"""One-off runs: check a set of targets once (concurrently, per-host limited), then mail what is worth it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from monitor.check import CheckContext, check_target
from monitor.dispatch import Dispatcher
from monitor.fetch import Clock, Fetcher, utcnow
from monitor.models import CheckResult, RunReport, Settings, Target
from monitor.notify import Outbox, notify
from monitor.report.site import SiteUpdates
from monitor.store import SnapshotStore

logger = logging.getLogger(__name__)


def run_checks(settings: Settings, targets: Iterable[Target], *, clock: Clock = utcnow,
               sleep: Callable[[float], None] = time.sleep) -> RunReport:
    """Check each target once and return the results in the given order.

    Targets on different hosts run at once on `daemon.workers` threads, at most `daemon.per_host` at a time
    per host (one-off runs do not space requests by `host_delay`: a host sees at most per_host at once).
    The index pages are regenerated once at the end; then, if email is enabled, reports are mailed through
    the outbox (they are on disk first).
    """
    targets = list(targets)
    started = clock()
    store = SnapshotStore(settings.snapshots_dir)
    site = SiteUpdates(settings.reports_dir, store)
    local = threading.local()
    fetchers: list[Fetcher] = []
    lock = threading.Lock()
    results: dict[str, CheckResult] = {}

    def work(target: Target) -> None:
        fetcher = getattr(local, "fetcher", None)
        if fetcher is None:  # one Fetcher (one connection pool) per worker thread
            fetcher = local.fetcher = Fetcher(settings.fetch, sleep=sleep, clock=clock)
            with lock:
                fetchers.append(fetcher)
        ctx = CheckContext(fetcher=fetcher, store=store, reports_dir=settings.reports_dir, clock=clock, site=site,
                           lock_wait=settings.daemon.lock_wait)
        results[target.name] = check_target(target, ctx)

    try:
        if len(targets) <= 1 or settings.daemon.workers <= 1:
            for target in targets:
                work(target)
        else:
            dispatcher = Dispatcher(work, workers=settings.daemon.workers, per_host=settings.daemon.per_host,
                                    host_delay=0.0, sleep=sleep)
            for target in targets:
                dispatcher.submit(target)
            dispatcher.join()
    finally:
        for fetcher in fetchers:
            fetcher.close()
    site.flush(clock())
    report = RunReport(started_at=started, finished_at=clock(), results=tuple(results[t.name] for t in targets))
    if settings.email.enabled:
        outbox = Outbox(settings.snapshots_dir, settings.reports_dir, settings.email)
        mail = notify(outbox, report.results, clock())
        if mail is not None:
            report = replace(report, mail_sent=mail.sent, mail_error=mail.error, outbox=outbox.size())
    return report
