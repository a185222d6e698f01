"""Checks run by workers elsewhere: the worker's half (read the page) and the coordinator's (store it).

A worker receives a check message (the target, its newest snapshot and state, the fetch and archive settings
and the politeness limits), takes its turn on the host across all workers, reads the page with
`check.read_page` (fetch, cut, fingerprint, extract unless unchanged) and sends back a result message: a few
bytes when nothing changed, else the page content and the raw body compressed. It writes nothing.

The coordinator (the `monitor run` process, the store's only writer) sends one message per due check and
stores each result with `check.settle` under the target's lock. A check's slot is `<target>@<last checked>`:
the coordinator enqueues a slot once (a Redis key marks it in flight, so a restart does not send it again),
and stores an answer only while the target is still at that slot, so a second answer to the same slot (a
redelivered message that two workers finished) is dropped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from monitor.check import CheckContext, read_page, settle
from monitor.clock import Clock, utcnow
from monitor.daemon.dispatch import host_of
from monitor.daemon.engine import PREFIX, RESULTS, Engine, EngineError, connect, count_check, host_turn, worker_id
from monitor.daemon.wire import VERSION, WireError, from_wire, to_wire
from monitor.errors import MonitorError
from monitor.fetch import Archive, Fetcher
from monitor.models import (
    ArchiveSettings,
    CheckResult,
    FetchSettings,
    PageRead,
    Snapshot,
    Target,
    TargetState,
)
from monitor.report import SiteUpdates
from monitor.store import SnapshotStore

logger = logging.getLogger(__name__)

RETRY_EVERY = 1.0  # seconds between attempts to send the checks that came due while Redis was away


class RemoteCheckError(MonitorError):
    """The error a worker met, as the coordinator records it (same message, kind and HTTP status)."""

    def __init__(self, message: str, kind: str, status: int | None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


def slot_of(name: str, state: TargetState) -> str:
    """Return the check slot a target is at: its name and when it was last checked."""
    return f"{name}@{state.last_checked.isoformat() if state.last_checked else 'never'}"


# --- the worker's half -------------------------------------------------------------------------------------

class WorkerSide:
    """What one worker process needs across checks: a Fetcher per thread and settings, one Archive client."""

    def __init__(self, browser: str) -> None:
        self._browser = browser  # this machine's chromium, whatever the coordinator's config names
        self._local = threading.local()
        self._archives: dict[ArchiveSettings, Archive] = {}
        self._lock = threading.Lock()
        self.engine: Engine | None = None

    def _fetcher(self, settings: FetchSettings) -> Fetcher:
        fetchers: dict[FetchSettings, Fetcher] = self._local.__dict__.setdefault("fetchers", {})
        settings = replace(settings, browser=self._browser)
        if settings not in fetchers:
            fetchers[settings] = Fetcher(settings)
        return fetchers[settings]

    def _archive(self, archive: ArchiveSettings, fetch: FetchSettings) -> Archive:
        with self._lock:  # one client per process: its politeness is per process, as in a local run
            if archive not in self._archives:
                self._archives[archive] = Archive(archive, fetch)
            return self._archives[archive]

    def perform(self, message: dict[str, Any]) -> None:
        """Run one check message: take the host's turn (or send the message back with a delay), read the page,
        send the result. Never raises for the check's own failures: they travel as results."""
        engine = self.engine
        assert engine is not None
        if message.get("version") != VERSION:
            logger.error("dropping a check message of version %r (this worker reads %d)", message.get("version"),
                         VERSION)
            return
        try:
            target = from_wire(Target, message["target"])
            previous = from_wire(Snapshot | None, message.get("previous"))
            state = from_wire(TargetState, message["state"])
            fetch = from_wire(FetchSettings, message["fetch"])
            archive = from_wire(ArchiveSettings, message["archive"])
        except (WireError, KeyError) as exc:
            logger.error("dropping a check message: %s", exc)
            return
        hold = target.timeout * (fetch.retries + 1) + 60
        answer: dict[str, Any] = {"version": VERSION, "slot": message["slot"], "target": target.name,
                                  "worker": worker_id()}
        with host_turn(engine, host_of(target), message["per_host"], message["host_delay"], hold) as wait:
            if wait:  # not this host's turn: back to the queue, later; this worker takes other work meanwhile
                engine.run_check.send_with_options(args=(message,), delay=int(wait * 1000))
                return
            try:
                page = read_page(target, self._fetcher(fetch), self._archive(archive, fetch) if target.uses_archive
                                 else None, previous, state, True, utcnow)
                if page.content is None:  # unchanged: the coordinator needs no body, nor its exchanges
                    page = replace(page, fetched=replace(page.fetched, body=b"", exchanges=()))
                answer["page"] = to_wire(page)
            except MonitorError as exc:
                answer["error"] = {"message": str(exc), "kind": exc.kind, "status": getattr(exc, "status", None)}
            except Exception as exc:  # a bug must not take the worker down; it is an error result
                logger.exception("%s: unexpected error", target.name)
                answer["error"] = {"message": f"internal error: {type(exc).__name__}: {exc}", "kind": "internal",
                                   "status": None}
        engine.take_result.send(answer)
        count_check(engine, worker_id(), "error" in answer)


def refuse_results(message: dict[str, Any]) -> None:
    """The result actor on a worker: workers never consume results (their queue is the coordinator's)."""
    raise RuntimeError("monitor workers do not take results")


# --- the coordinator's half --------------------------------------------------------------------------------

class Coordinator:
    """Sends due checks to the workers and stores their results; a drop-in for the local Dispatcher."""

    def __init__(self, url: str, redelivery: float, store: SnapshotStore, settings: Callable[[], Any],
                 site: SiteUpdates, on_result: Callable[[CheckResult], None], clock: Clock = utcnow) -> None:
        """`settings()` returns the current Settings (they change on reload). Raises EngineError."""
        import dramatiq

        self.engine = connect(url, redelivery, refuse_checks, self._take)
        self._store, self._settings, self._site, self._on_result, self._clock = store, settings, site, on_result, clock
        self._waiting: dict[str, Target] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._worker = dramatiq.Worker(self.engine.broker, queues={RESULTS}, worker_threads=1, worker_timeout=200)
        self._worker.start()
        self._retry = threading.Thread(target=self._resend, name="engine-resend", daemon=True)
        self._retry.start()

    def submit(self, target: Target) -> bool:
        """Send a check of `target` unless its slot is already in flight; return False if it is. A check that
        cannot be sent now (Redis away) waits here and is sent when Redis is back."""
        try:
            return self._send(target)
        except EngineError as exc:
            with self._lock:
                first = not self._waiting
                self._waiting[target.name] = target
            if first:
                logger.warning("engine: %s; keeping due checks until it is back", exc)
            return True

    def _send(self, target: Target) -> bool:
        import redis

        state = self._store.load_state(target.name)
        slot = slot_of(target.name, state)
        settings = self._settings()
        key = f"{PREFIX}inflight:{target.name}"
        # In flight until answered, or until a lost message's key expires (one period, at least 10 minutes).
        ttl = max(600, int(target.every.total_seconds())) if target.every else 86400
        try:
            client = self.engine.client
            if client.get(key) == slot.encode():
                return False
            message = {"version": VERSION, "slot": slot, "target": to_wire(target),
                       "previous": to_wire(self._store.latest(target.name)), "state": to_wire(state),
                       "fetch": to_wire(settings.fetch), "archive": to_wire(settings.archive),
                       "per_host": settings.daemon.per_host, "host_delay": settings.daemon.host_delay,
                       "sent_at": self._clock().isoformat()}
            client.set(key, slot, ex=ttl)
            self.engine.run_check.send(message)
        except redis.RedisError as exc:
            raise EngineError(f"Redis does not answer ({exc})") from exc
        return True

    def _resend(self) -> None:
        while not self._stop.wait(RETRY_EVERY):
            with self._lock:
                waiting, self._waiting = self._waiting, {}
            for index, target in enumerate(waiting.values()):
                try:
                    self._send(target)
                except EngineError:
                    with self._lock:
                        for rest in list(waiting.values())[index:]:
                            self._waiting.setdefault(rest.name, rest)
                    break
            else:
                if waiting:
                    logger.info("engine: Redis is back; %d due checks sent", len(waiting))

    def _take(self, message: dict[str, Any]) -> None:
        """Store one result (the result actor, on this process's results consumer)."""
        name, slot = message.get("target"), message.get("slot")
        target = self._settings().target(name) if isinstance(name, str) else None
        if target is None or message.get("version") != VERSION:
            logger.info("engine: dropping a result for %r (no such target, or another version)", name)
            return
        try:
            error = message.get("error")
            page: PageRead | MonitorError = RemoteCheckError(error["message"], error["kind"], error["status"]) \
                if error else from_wire(PageRead, message["page"])
        except (WireError, KeyError, TypeError) as exc:
            page = RemoteCheckError(f"unreadable answer from worker {message.get('worker')}: {exc}", "engine", None)
        settings = self._settings()
        ctx = CheckContext(fetcher=None, store=self._store, reports_dir=settings.reports_dir, clock=self._clock,
                           lock_wait=settings.daemon.lock_wait, site=self._site)
        result = settle(target, ctx, page, lambda state: slot_of(target.name, state) == slot)
        self._clear(target.name, slot)
        if result is None:
            logger.info("%s: a second answer to check %s dropped (already stored)", name, slot)
            return
        self._on_result(result)

    def _clear(self, name: str, slot: str) -> None:
        try:
            key = f"{PREFIX}inflight:{name}"
            if self.engine.client.get(key) == slot.encode():
                self.engine.client.delete(key)
        except Exception as exc:  # it expires by itself
            logger.debug("engine: clearing %s: %s", name, exc)

    def busy(self) -> int:
        """Return how many due checks wait for Redis to come back."""
        with self._lock:
            return len(self._waiting)

    def close(self, grace: float) -> bool:
        """Stop sending and taking results (results not yet taken stay in Redis for the next start)."""
        self._stop.set()
        self._retry.join(timeout=5)
        self._worker.stop(timeout=int(grace * 1000))
        self.engine.broker.close()
        return True


def refuse_checks(message: dict[str, Any]) -> None:
    """The check actor on the coordinator: it only sends checks."""
    raise RuntimeError("the coordinator does not run checks")
