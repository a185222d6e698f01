"""The check pipeline: fetch -> decode -> normalize -> load previous -> diff -> save -> report -> CheckResult.

This is the only module that knows the order of the stages. One target's failure is a result, never a crash.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from monitor.diff import diff
from monitor.encoding import decode_html
from monitor.errors import MonitorError, ReportError
from monitor.fetch import Clock, Fetcher, utcnow
from monitor.models import (
    ChangeReport,
    CheckResult,
    CheckStatus,
    Fetched,
    RunReport,
    Settings,
    Snapshot,
    Target,
    TargetState,
    Validators,
)
from monitor.normalize import apply_ignore, normalize
from monitor.report.html import write_report
from monitor.store import SnapshotStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckContext:
    """The resources a check needs, created and closed by the caller."""

    fetcher: Fetcher
    store: SnapshotStore
    reports_dir: Path
    clock: Clock = utcnow
    lock_wait: float = 60.0


def check_target(target: Target, ctx: CheckContext) -> CheckResult:
    """Check one target once and return its result; every failure becomes an error result."""
    started = time.monotonic()
    checked_at = ctx.clock()
    validators: Validators | None = None
    try:
        # Another process (daemon or one-off check) may be on this target: never write it concurrently.
        with ctx.store.lock_target(target.name, ctx.lock_wait):
            state, state_error = _read_state(ctx.store, target.name)
            try:
                if state_error is not None:
                    raise state_error
                result, validators = _check(target, ctx, checked_at, state)
            except MonitorError as exc:
                result = _error(target, checked_at, str(exc), exc.kind)
            except Exception as exc:  # a bug must not take down the run or the daemon
                logger.exception("%s: unexpected error", target.name)
                result = _error(target, checked_at, f"internal error: {type(exc).__name__}: {exc}", "internal")
            result = replace(result, duration=time.monotonic() - started)
            _remember(ctx.store, state, result, validators)
    except MonitorError as exc:  # the lock itself: busy elsewhere, or the folder is unusable
        result = replace(_error(target, checked_at, str(exc), exc.kind), duration=time.monotonic() - started)
    if result.status == "error":
        logger.warning("%s: error: %s (%.2fs)", target.name, result.error, result.duration)
    else:
        logger.info("%s: %s (%.2fs)", target.name, result.status, result.duration)
    return result


def _read_state(store: SnapshotStore, name: str) -> tuple[TargetState, MonitorError | None]:
    """Return the target's state read once per check; an unreadable one gives a fresh state and the error."""
    try:
        return store.load_state(name), None
    except MonitorError as exc:
        logger.warning("%s: previous state unreadable, starting afresh: %s", name, exc)
        return TargetState(), exc


def _check(target: Target, ctx: CheckContext, checked_at: datetime,
           state: TargetState) -> tuple[CheckResult, Validators | None]:
    """Run the stages for one target; return the result and the server's validators to keep."""
    store = ctx.store
    previous = store.latest(target.name)
    fetched = ctx.fetcher.fetch(target, state.validators if previous else None)
    if fetched.not_modified and previous is not None:
        return _result(target, checked_at, "unchanged", fetched, previous.id), None
    text = normalize(decode_html(fetched.body, fetched.content_type), target.profile,
                     target.select, target.exclude)
    if previous is None:
        snapshot = _save(store, target, text, fetched)
        return _result(target, checked_at, "new", fetched, snapshot.id), fetched.validators
    old_comparable, _ = apply_ignore(store.read_text(previous), target.ignore)
    new_comparable, ignored = apply_ignore(text, target.ignore)
    change = diff(old_comparable, new_comparable)
    if change is None:
        return _result(target, checked_at, "unchanged", fetched, previous.id), fetched.validators
    snapshot = _save(store, target, text, fetched)
    try:
        report = write_report(ctx.reports_dir, ChangeReport(target=target, old=previous, new=snapshot,
                                                            change=change, created_at=checked_at,
                                                            ignored=ignored))
    except ReportError:
        # Without its report the change would go unseen: forget the snapshot so the next run finds it again.
        store.discard(snapshot)
        raise
    result = _result(target, checked_at, "changed", fetched, snapshot.id)
    return replace(result, report=report, change=change), fetched.validators


def _save(store: SnapshotStore, target: Target, text: str, fetched: Fetched) -> Snapshot:
    return store.save(target.name, text, taken_at=fetched.fetched_at, source="live", raw=fetched.body,
                      url=target.url, final_url=fetched.final_url, status=fetched.status,
                      content_type=fetched.content_type, etag=fetched.etag,
                      last_modified=fetched.last_modified)


def _remember(store: SnapshotStore, state: TargetState, result: CheckResult,
              validators: Validators | None) -> None:
    """Record the check in the target's state: last check, error streak, validators for the next GET."""
    if result.status == "error":
        state = replace(state, last_checked=result.checked_at, last_status="error", last_error=result.error,
                        consecutive_failures=state.consecutive_failures + 1)
    else:
        state = replace(state, last_checked=result.checked_at, last_status=result.status, last_error=None,
                        consecutive_failures=0,
                        last_change=result.checked_at if result.status == "changed" else state.last_change,
                        validators=validators or state.validators)
    try:
        store.save_state(result.target, state)
    except MonitorError as exc:
        logger.error("%s: could not save state: %s", result.target, exc)


def _result(target: Target, checked_at: datetime, status: CheckStatus, fetched: Fetched,
            snapshot: str) -> CheckResult:
    return CheckResult(target=target.name, url=target.url, status=status, checked_at=checked_at,
                       final_url=fetched.final_url, snapshot=snapshot)


def _error(target: Target, checked_at: datetime, message: str, kind: str) -> CheckResult:
    return CheckResult(target=target.name, url=target.url, status="error", checked_at=checked_at,
                       error=message, error_kind=kind)


def run_checks(settings: Settings, targets: Iterable[Target], *, clock: Clock = utcnow,
               sleep: Callable[[float], None] = time.sleep) -> RunReport:
    """Check each target in turn with one shared Fetcher and return the run's results."""
    started = clock()
    store = SnapshotStore(settings.snapshots_dir)
    with Fetcher(settings.fetch, sleep=sleep, clock=clock) as fetcher:
        ctx = CheckContext(fetcher=fetcher, store=store, reports_dir=settings.reports_dir, clock=clock)
        results = tuple(check_target(target, ctx) for target in targets)
    return RunReport(started_at=started, finished_at=clock(), results=results)
