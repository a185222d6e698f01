"""The check pipeline: fetch -> decode -> extract -> load previous -> diff -> save -> report -> prune.

This is the only module that knows the order of the stages. One target's failure is a result, never a crash:
failures feed the target's error state (monitor.events), which reports a streak once and its end once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from monitor.diff import diff, diff_meta
from monitor.encoding import decode_html
from monitor.errors import HTTPStatusError, MonitorError, ReportError
from monitor.events import on_failure, on_success
from monitor.fetch import Clock, Fetcher, utcnow
from monitor.models import (
    Change,
    ChangeReport,
    CheckResult,
    CheckStatus,
    Fetched,
    MetaChange,
    PageContent,
    RunReport,
    Settings,
    Snapshot,
    Target,
    TargetState,
)
from monitor.normalize import apply_ignore, extract, ignored_differences
from monitor.notify import Outbox, notify
from monitor.report.html import remove_reports, report_refs, write_report
from monitor.report.site import publish
from monitor.retention import plan
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


@dataclass(frozen=True)
class _Outcome:
    """A successful check before its state and report are settled."""

    status: CheckStatus
    fetched: Fetched
    previous: Snapshot | None
    snapshot: Snapshot | None = None   # the snapshot written by this check, if any
    change: Change | None = None
    meta: MetaChange | None = None
    ignored: int = 0
    note: str | None = None

    @property
    def current(self) -> Snapshot | None:
        """The snapshot the page now matches: the one this check wrote, else the previous one."""
        return self.snapshot or self.previous


def check_target(target: Target, ctx: CheckContext) -> CheckResult:
    """Check one target once and return its result; every failure becomes an error result."""
    started = time.monotonic()
    checked_at = ctx.clock()
    try:
        # Another process (daemon or one-off check) may be on this target: never write it concurrently.
        with ctx.store.lock_target(target.name, ctx.lock_wait):
            state, state_error = _read_state(ctx.store, target.name)
            try:
                if state_error is not None:
                    raise state_error
                outcome = _check(target, ctx, state)
                result, state = _succeeded(target, ctx, checked_at, state, outcome)
            except MonitorError as exc:
                status = exc.status if isinstance(exc, HTTPStatusError) else None
                result, state = _failed(target, ctx, checked_at, state, str(exc), exc.kind, status)
            except Exception as exc:  # a bug must not take down the run or the daemon
                logger.exception("%s: unexpected error", target.name)
                result, state = _failed(target, ctx, checked_at, state,
                                        f"internal error: {type(exc).__name__}: {exc}", "internal", None)
            result = replace(result, duration=time.monotonic() - started)
            _save_state(ctx.store, target.name, state)
    except MonitorError as exc:  # the lock itself: busy elsewhere, or the folder is unusable
        result = replace(_error(target, checked_at, str(exc), exc.kind), duration=time.monotonic() - started)
        logger.warning("%s: not checked: %s", target.name, exc)
    if result.status != "error":
        logger.info("%s: %s%s (%.2fs)", target.name, result.status,
                    f", {result.event}" if result.event else "", result.duration)
    return result


def _read_state(store: SnapshotStore, name: str) -> tuple[TargetState, MonitorError | None]:
    """Return the target's state read once per check; an unreadable one gives a fresh state and the error."""
    try:
        return store.load_state(name), None
    except MonitorError as exc:
        logger.warning("%s: previous state unreadable, starting afresh: %s", name, exc)
        return TargetState(), exc


def _check(target: Target, ctx: CheckContext, state: TargetState) -> _Outcome:
    """Fetch and compare the target; store a snapshot when its text or details changed. Raises MonitorError."""
    store = ctx.store
    previous = store.latest(target.name)
    fetched = ctx.fetcher.fetch(target, state.validators if previous else None)
    if fetched.not_modified and previous is not None:
        return _Outcome("unchanged", fetched, previous)
    content = extract(decode_html(fetched.body, fetched.content_type), target.profile, target.select,
                      target.exclude)
    if previous is None:
        return _Outcome("new", fetched, None, snapshot=_save(store, target, content, fetched))
    # Ignore rules apply before comparing, so ignored text can never show up as a change.
    old_text, old_ignored = apply_ignore(store.read_text(previous), target.ignore)
    new_text, new_ignored = apply_ignore(content.text, target.ignore)
    ignored = ignored_differences(old_ignored, new_ignored)
    change = diff(old_text, new_text)
    meta = diff_meta(previous, title=content.title, final_url=fetched.final_url, links=content.links,
                     status=fetched.status, expected_url=target.url)
    if change is None and meta is None:
        return _Outcome("unchanged", fetched, previous, ignored=ignored)
    repeat_of = _earlier_version(store, target, new_text) if change is not None and meta is None else None
    snapshot = _save(store, target, content, fetched, repeat_of=repeat_of)
    if repeat_of is not None:
        return _Outcome("unchanged", fetched, previous, snapshot=snapshot, ignored=ignored,
                        note=f"back to the text of {repeat_of} (compare_versions)")
    return _Outcome("changed", fetched, previous, snapshot=snapshot, change=change, meta=meta, ignored=ignored)


def _earlier_version(store: SnapshotStore, target: Target, new_text: str) -> str | None:
    """Return the id of one of the target's last `compare_versions` snapshots (before the newest) whose
    comparable text equals `new_text`, or None."""
    if target.compare_versions <= 1:
        return None
    for snapshot in store.history(target.name)[1:target.compare_versions]:
        if apply_ignore(store.read_text(snapshot), target.ignore)[0] == new_text:
            return snapshot.repeat_of or snapshot.id
    return None


def _save(store: SnapshotStore, target: Target, content: PageContent, fetched: Fetched,
          repeat_of: str | None = None) -> Snapshot:
    return store.save(target.name, content.text, taken_at=fetched.fetched_at, source="live", raw=fetched.body,
                      url=target.url, final_url=fetched.final_url, status=fetched.status,
                      content_type=fetched.content_type, etag=fetched.etag,
                      last_modified=fetched.last_modified, title=content.title, links=content.links,
                      repeat_of=repeat_of)


def _succeeded(target: Target, ctx: CheckContext, checked_at: datetime, state: TargetState,
               outcome: _Outcome) -> tuple[CheckResult, TargetState]:
    """Settle a successful check: report a change or a recovery, prune history, return result and state.

    Raises ReportError if the report cannot be written (the new snapshot is then discarded, so the next
    check finds the change again).
    """
    fetched = outcome.fetched
    validators = fetched.validators if not fetched.not_modified else None
    new_state, recovered = on_success(state, now=checked_at, status=outcome.status, validators=validators)
    kind = "recovered" if recovered else ("changed" if outcome.status == "changed" else None)
    report_path = None
    if kind is not None:
        report = ChangeReport(target=target, kind=kind, created_at=checked_at, old=outcome.previous,
                              new=outcome.snapshot, change=outcome.change, meta=outcome.meta,
                              ignored=outcome.ignored, failures=state.consecutive_failures,
                              failing_since=state.failing_since)
        try:
            report_path = write_report(ctx.reports_dir, report)
        except ReportError:
            if outcome.snapshot is not None:
                ctx.store.discard(outcome.snapshot)
            raise
    if outcome.snapshot is not None:
        _prune(target, ctx, checked_at)
    if report_path is not None or outcome.snapshot is not None:
        _publish(ctx, target.name, checked_at)
    result = CheckResult(target=target.name, url=target.url, status=outcome.status, checked_at=checked_at,
                         final_url=fetched.final_url,
                         snapshot=outcome.current.id if outcome.current else None,
                         report=report_path, change=outcome.change, meta=outcome.meta,
                         event="recovered" if recovered else None, note=outcome.note)
    return result, new_state


def _failed(target: Target, ctx: CheckContext, checked_at: datetime, state: TargetState, message: str,
            kind: str, status: int | None) -> tuple[CheckResult, TargetState]:
    """Settle a failed check: log it, report the streak once it reaches the threshold; return result and state."""
    decision = on_failure(state, now=checked_at, error=message, status=status, threshold=target.error_threshold)
    streak, threshold = decision.state.consecutive_failures, target.error_threshold
    if decision.event:
        logger.log(decision.log_level, "%s: %d consecutive failures, reporting '%s': %s", target.name, streak,
                   decision.event, message)
    elif streak == 1:
        logger.log(decision.log_level, "%s: check failed (reported after %d in a row): %s", target.name,
                   threshold, message)
    else:
        logger.log(decision.log_level, "%s: still failing (%d in a row): %s", target.name, streak, message)
    result = _error(target, checked_at, message, kind)
    if decision.event is None:
        return result, decision.state
    try:
        last_good = ctx.store.latest(target.name)
        meta = MetaChange(status=(last_good.status, status)) if last_good and last_good.status and status else None
        path = write_report(ctx.reports_dir, ChangeReport(
            target=target, kind=decision.event, created_at=checked_at, old=last_good, meta=meta, error=message,
            failures=streak, failing_since=decision.state.failing_since))
        _publish(ctx, target.name, checked_at)
    except MonitorError as exc:
        logger.error("%s: could not write the %s report (will try again next check): %s", target.name,
                     decision.event, exc)
        return result, replace(decision.state, reported=None)
    return replace(result, event=decision.event, report=path), decision.state


def _prune(target: Target, ctx: CheckContext, now: datetime) -> None:
    """Apply the target's `keep` policy; a failure is logged, never fatal."""
    if target.keep is None:
        return
    try:
        snapshots = ctx.store.history(target.name)
        doomed = plan(snapshots, report_refs(ctx.reports_dir, target.name), target.keep, now)
        if not doomed:
            return
        remove_reports(ctx.reports_dir, target.name, doomed.reports)
        by_id = {s.id: s for s in snapshots}
        for snapshot_id in doomed.snapshots:
            ctx.store.discard(by_id[snapshot_id])
        logger.info("%s: retention removed %d snapshots and %d reports", target.name, len(doomed.snapshots),
                    len(doomed.reports))
    except MonitorError as exc:
        logger.error("%s: retention failed: %s", target.name, exc)


def _publish(ctx: CheckContext, name: str, now: datetime) -> None:
    """Refresh the static index, feed and `name`'s pages; a failure is logged (the pages are regenerable)."""
    try:
        publish(ctx.reports_dir, ctx.store, now, [name])
    except MonitorError as exc:
        logger.error("%s: could not update the report index: %s", name, exc)


def _save_state(store: SnapshotStore, name: str, state: TargetState) -> None:
    try:
        store.save_state(name, state)
    except MonitorError as exc:
        logger.error("%s: could not save state: %s", name, exc)


def _error(target: Target, checked_at: datetime, message: str, kind: str) -> CheckResult:
    return CheckResult(target=target.name, url=target.url, status="error", checked_at=checked_at,
                       error=message, error_kind=kind)


def run_checks(settings: Settings, targets: Iterable[Target], *, clock: Clock = utcnow,
               sleep: Callable[[float], None] = time.sleep) -> RunReport:
    """Check each target in turn with one shared Fetcher, then mail what is worth it (if email is enabled:
    reports are on disk first; mail goes through the outbox). Return the run's results."""
    started = clock()
    store = SnapshotStore(settings.snapshots_dir)
    with Fetcher(settings.fetch, sleep=sleep, clock=clock) as fetcher:
        ctx = CheckContext(fetcher=fetcher, store=store, reports_dir=settings.reports_dir, clock=clock)
        results = tuple(check_target(target, ctx) for target in targets)
    report = RunReport(started_at=started, finished_at=clock(), results=results)
    if settings.email.enabled:
        outbox = Outbox(settings.snapshots_dir, settings.reports_dir, settings.email)
        mail = notify(outbox, results, clock())
        if mail is not None:
            report = replace(report, mail_sent=mail.sent, mail_error=mail.error, outbox=outbox.size())
    return report
