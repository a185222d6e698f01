"""The daemon: APScheduler 3.x, one job per target, checks on a polite worker pool, graceful stop and reload."""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.check import CheckContext, check_target
from monitor.clock import Clock, utcnow
from monitor.config import load_settings
from monitor.daemon.dispatch import Dispatcher
from monitor.daemon.remote import Coordinator
from monitor.errors import ConfigError, LockedError, MonitorError, TransientFetchError
from monitor.fetch import Archive, Fetcher, stop_thread
from monitor.models import CheckResult, Settings, Target
from monitor.notify import Outbox, channel_outboxes, notify, notify_channels
from monitor.report import SiteUpdates, publish
from monitor.store import DAEMON_STATUS, SnapshotStore, write_json

logger = logging.getLogger(__name__)

MAX_JITTER = 300.0
STATUS_FILE = DAEMON_STATUS
MAIL_JOB = "_email"  # not a valid target name, so it cannot collide with a target's job
HOUSEKEEPING_JOB = "_housekeeping"
HOUSEKEEPING_EVERY = 2.0  # seconds between index regenerations and daemon.json updates after checks


def interval_seconds(target: Target, now: datetime) -> float:
    """Return the target's period in seconds (for cron: the gap between its next two fire times)."""
    if target.every is not None:
        return target.every.total_seconds()
    trigger = CronTrigger.from_crontab(target.cron, timezone=UTC)
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    return (second - first).total_seconds()


def make_trigger(target: Target, start: datetime, jitter: float) -> BaseTrigger:
    """Return the APScheduler trigger for `target`: its interval anchored at `start`, or its cron expression."""
    if target.cron is not None:
        trigger = CronTrigger.from_crontab(target.cron, timezone=UTC)
        trigger.jitter = jitter or None
        return trigger
    return IntervalTrigger(seconds=target.every.total_seconds(), start_date=start, timezone=UTC,
                           jitter=jitter or None)


def first_run(target: Target, last_checked: datetime | None, now: datetime, spread: float,
              rng: random.Random) -> datetime:
    """Return when the daemon should first check `target`.

    Due from the last check recorded in the store, not from now: a target checked recently waits for its
    turn; one never checked or overdue runs promptly, spread over min(spread, its interval) so a restart
    with many targets does not fire them all at once.
    """
    period = interval_seconds(target, now)
    if last_checked is None:
        due = now
    elif target.cron is not None:
        due = CronTrigger.from_crontab(target.cron, timezone=UTC).get_next_fire_time(None, last_checked)
    else:
        due = last_checked + target.every
    if due > now:
        return due
    return now + timedelta(seconds=rng.uniform(0, min(spread, period)))


def install_signal_handlers(stop: threading.Event, reload: threading.Event) -> None:
    """SIGTERM/SIGINT set `stop`, SIGHUP sets `reload` (call from the main thread)."""
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGHUP, lambda *_: reload.set())


class Daemon:
    """Schedules every target of a config file and runs its checks until told to stop."""

    def __init__(self, config_path: Path, settings: Settings, *, clock: Clock = utcnow,
                 rng: random.Random | None = None) -> None:
        self.config_path = config_path
        self.settings = settings
        self.store = SnapshotStore(settings.snapshots_dir)
        self._clock = clock
        self._rng = rng or random.Random()
        self._status_lock = threading.Lock()
        self._stopping = threading.Event()
        self._started_at = clock()
        self._scheduler = BackgroundScheduler(timezone=UTC, executors={"default": JobExecutor(2)})
        daemon = settings.daemon
        self._outbox = Outbox(settings.snapshots_dir, settings.reports_dir, settings.email)
        self._channels = channel_outboxes(settings)
        self._site = SiteUpdates(settings.reports_dir, self.store)
        self._dispatcher: Dispatcher | Coordinator
        if settings.engine.url:  # checks run on `monitor worker`s; this process stores their results
            self._dispatcher = Coordinator(settings.engine.url, settings.engine.redelivery, self.store,
                                           lambda: self.settings, self._site, self._after_check, clock=clock)
        else:
            self._dispatcher = Dispatcher(self._check, workers=daemon.workers, per_host=daemon.per_host,
                                          host_delay=daemon.host_delay, finish=stop_thread)
        self._archive = Archive(settings.archive, settings.fetch, clock=clock)  # for archive.fallback targets
        self._status_dirty = threading.Event()

    def _refresh_site(self) -> None:
        """Regenerate the top index and feed once at start (a crash may have left them a report behind); a
        target's own pages are regenerated with its next change, so start-up stays short with many targets."""
        try:
            publish(self.settings.reports_dir, self.store, self._clock(), targets=())
        except MonitorError as exc:
            logger.error("could not refresh the report index: %s", exc)

    def run(self, stop: threading.Event, reload: threading.Event, poll: float = 0.2) -> bool:
        """Run until `stop` is set, reloading the config whenever `reload` is set.

        Returns True if every running check finished within the grace period.
        Raises LockedError if another daemon already runs on the same snapshots dir.
        """
        lock = self.store.daemon_lock()
        if not lock.acquire(0):
            raise LockedError(f"another daemon ({lock.read_note() or 'unknown pid'}) is already running "
                              f"on {self.settings.snapshots_dir}")
        try:
            lock.write_note(f"pid {os.getpid()}")
            self._refresh_site()
            for target in self.settings.targets:
                self._schedule(target)
            if self.settings.email.enabled or self._channels:
                self._scheduler.add_job(self._mail, "interval", seconds=self.settings.email.flush_every,
                                        id=MAIL_JOB, name="email", coalesce=True, max_instances=1,
                                        next_run_time=self._clock())
            self._scheduler.add_job(self._housekeeping, "interval", seconds=HOUSEKEEPING_EVERY,
                                    id=HOUSEKEEPING_JOB, name="housekeeping", coalesce=True, max_instances=1)
            self._scheduler.start()
            self._write_status()
            logger.info("daemon started (pid %d): %d targets, config %s", os.getpid(),
                        len(self.settings.targets), self.config_path)
            while not stop.wait(poll):
                if reload.is_set():
                    reload.clear()
                    self.reload()
            self._stopping.set()
            busy = self._dispatcher.busy()
            logger.info("stopping: no new checks; waiting up to %gs for %d running", self.settings.daemon.grace, busy)
            self._scheduler.shutdown(wait=False)
            clean = self._dispatcher.close(self.settings.daemon.grace)
            if not clean:
                logger.warning("checks still running after %gs; leaving them (the store stays consistent)",
                               self.settings.daemon.grace)
            self._housekeeping()
            self._mail()  # one last pass: what was reported during the last interval goes out now
            self._archive.close()
            (self.settings.snapshots_dir / STATUS_FILE).unlink(missing_ok=True)
            logger.info("daemon stopped")
            return clean
        finally:
            lock.close()

    def reload(self) -> None:
        """Re-read the config file: apply added, removed and changed targets; keep the old config if invalid."""
        try:
            new = load_settings(self.config_path)
        except ConfigError as exc:
            logger.error("config reload refused, keeping the running config:\n%s", exc)
            return
        old = self.settings
        if (new.snapshots_dir, new.reports_dir) != (old.snapshots_dir, old.reports_dir):
            logger.error("config reload refused: snapshots_dir/reports_dir changed; restart the daemon for that")
            return
        if new.email != old.email:
            logger.warning("email.* settings change on restart only")
            new = replace(new, email=old.email)
        if new.daemon != old.daemon:
            logger.warning("daemon.* settings change on restart only")
        before = {t.name: t for t in old.targets}
        after = {t.name: t for t in new.targets}
        for name in before.keys() - after.keys():
            self._scheduler.remove_job(name)
        self.settings = new
        changed = [t for t in new.targets if before.get(t.name) != t]
        for target in changed:
            self._schedule(target)
        logger.info("config reloaded: %d added, %d removed, %d changed", len(after.keys() - before.keys()),
                    len(before.keys() - after.keys()), len([t for t in changed if t.name in before]))
        self._write_status()

    def _schedule(self, target: Target) -> None:
        if target.paused:
            if self._scheduler.get_job(target.name) is not None:
                self._scheduler.remove_job(target.name)
            logger.info("%s: paused; not scheduled", target.name)
            return
        now = self._clock()
        state = self.store.load_state(target.name)
        start = first_run(target, state.last_checked, now, self.settings.daemon.startup_spread, self._rng)
        period = interval_seconds(target, now)
        jitter = min(period * self.settings.daemon.jitter, MAX_JITTER)
        # A run late by less than one period still happens (once: coalesce); later than that, the next is due.
        self._scheduler.add_job(self._dispatch, make_trigger(target, start, jitter), args=[target.name],
                                id=target.name, name=target.name, next_run_time=start, coalesce=True,
                                max_instances=1, misfire_grace_time=max(1, int(period)), replace_existing=True)
        logger.debug("%s: first run at %s, then every %gs", target.name, start.isoformat(), period)

    def _dispatch(self, name: str) -> None:
        target = self.settings.target(name)
        if target is not None and not self._dispatcher.submit(target):
            logger.info("%s: previous check still queued or running; this run skipped", name)

    def _check(self, target: Target) -> None:
        settings = self.settings
        with Fetcher(settings.fetch, clock=self._clock, sleep=self._retry_wait) as fetcher:
            ctx = CheckContext(fetcher=fetcher, store=self.store, reports_dir=settings.reports_dir,
                               clock=self._clock, lock_wait=settings.daemon.lock_wait, site=self._site,
                               archive=self._archive if target.uses_archive else None)
            result = check_target(target, ctx)
        self._after_check(result)

    def _after_check(self, result: CheckResult) -> None:
        """What follows every stored check, local or from a worker: queue its mail, refresh the status."""
        if self.settings.email.enabled:
            try:
                self._outbox.add([result])  # durable at once; mailed by the next email pass
            except MonitorError as exc:
                logger.error("%s: could not queue the email: %s", result.target, exc)
        for channel in self._channels:
            try:
                channel.add([result])  # durable at once; sent by the next pass
            except MonitorError as exc:
                logger.error("%s: could not queue for channel %s: %s", result.target, channel.channel.name, exc)
        self._status_dirty.set()

    def _housekeeping(self) -> None:
        """Start the checks asked for from the app ("check now"); regenerate the index pages of the targets
        checked since the last pass; refresh daemon.json."""
        for name in self.store.take_check_requests():
            target = self.settings.target(name)
            if target is not None and not target.paused:
                logger.info("%s: check asked for now", name)
                self._dispatch(name)
        self._site.flush(self._clock())
        if self._status_dirty.is_set():
            self._status_dirty.clear()
            self._write_status()

    def _mail(self) -> None:
        """Compose the pending reports into mails and channel messages (one digest per pass, or one per report)
        and send what is due."""
        notify(self._outbox, (), self._clock())
        notify_channels(self._channels, (), self._clock())

    def _retry_wait(self, seconds: float) -> None:
        """Wait between fetch attempts, but give up the retry as soon as the daemon is stopping."""
        if self._stopping.wait(seconds):
            raise TransientFetchError("retry abandoned: the daemon is stopping")

    def _write_status(self) -> None:
        """Record pid and next run times in daemon.json for `monitor status`."""
        jobs: dict[str, Any] = {}
        for job in self._scheduler.get_jobs():
            when = job.next_run_time
            jobs[job.id] = when.astimezone(UTC).isoformat() if when else None
        with self._status_lock:
            try:
                write_json(self.settings.snapshots_dir / STATUS_FILE, {
                    "pid": os.getpid(), "started_at": self._started_at.isoformat(),
                    "config": str(self.config_path), "next_run": jobs})
            except Exception as exc:  # status is informative; never let it stop a check
                logger.warning("cannot write daemon status: %s", exc)


def read_status(settings: Settings) -> dict[str, Any] | None:
    """Return the running daemon's status document, or None when no daemon holds this snapshots dir."""
    return SnapshotStore(settings.snapshots_dir).daemon_status()
