"""The watches page: every target with its state, last check, next run, last change, error streak and a
90-day timeline of its reports (an inline SVG drawn here, no script); failing first, then most recently
changed; filtered by state and name. Pause and resume are POSTs (CSRF) that edit config.yaml through
`monitor.watchlist` and tell a running daemon to reload; "check now" asks the running daemon, or checks the
target in this process when none runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.clock import Clock
from monitor.errors import MonitorError
from monitor.models import NAME_RE, Settings, Target, TargetState
from monitor.report import ReportEntry, stamp

logger = logging.getLogger(__name__)

STATES = ("all", "failing", "blocked", "changed", "ok", "paused", "never checked")
_WALL = ("block page", "bot challenge", "bot wall")  # what a BlockedError says (monitor.fetch.blockpage)
TIMELINE_DAYS = 90
TIMELINE_WIDTH = 180


@dataclass(frozen=True)
class Mark:
    """One report on a timeline: its x position, its kind, its link and a label."""

    x: float
    kind: str
    href: str
    label: str


@dataclass(frozen=True)
class Watch:
    """One row of the watches page."""

    target: Target
    state: str
    last_checked: str
    next_run: str
    last_change: str
    streak: int
    error: str | None
    failing_since: str
    marks: tuple[Mark, ...]
    sort_key: tuple[int, float]


def state_of(target: Target, state: TargetState) -> str:
    """Return a target's state in one word: paused, blocked (a bot wall or CDN block page), failing, never
    checked, changed (its last check), ok."""
    if target.paused:
        return "paused"
    if state.consecutive_failures:
        return "blocked" if any(word in (state.last_error or "") for word in _WALL) else "failing"
    if state.last_checked is None:
        return "never checked"
    return "changed" if state.last_status == "changed" else "ok"


def watches(settings: Settings, states: dict[str, TargetState], entries: list[ReportEntry],
            next_runs: dict[str, str], now: datetime) -> list[Watch]:
    """Return the rows: failing first, then the most recently changed, then the rest by name."""
    start = now - timedelta(days=TIMELINE_DAYS)
    rows = []
    for target in settings.targets:
        st = states[target.name]
        mine = [e for e in entries if e.target == target.name and e.created_at >= start]
        marks = tuple(Mark(round((e.created_at - start) / timedelta(days=TIMELINE_DAYS) * TIMELINE_WIDTH, 1),
                           e.kind, f"/r/{e.target}/{e.id}", f"{e.kind} {stamp(e.created_at)}") for e in mine)
        word = state_of(target, st)
        changed = st.last_change.timestamp() if st.last_change else 0.0
        run = next_runs.get(target.name)
        rows.append(Watch(target, word, stamp(st.last_checked) if st.last_checked else "never",
                          "-" if target.paused or not run else stamp(datetime.fromisoformat(run)),
                          stamp(st.last_change) if st.last_change else "none", st.consecutive_failures,
                          st.last_error, stamp(st.failing_since) if st.failing_since else "",
                          marks, (0 if word in ("failing", "blocked") else 1, -changed)))
    return sorted(rows, key=lambda w: (w.sort_key, w.target.name))


def matching(rows: list[Watch], state: str, name: str) -> list[Watch]:
    """Return the rows in `state` (or all) whose name contains `name`."""
    return [w for w in rows if (state in ("", "all") or w.state == state) and name.lower() in w.target.name]


def check_now(settings: Settings, target: Target, clock: Clock) -> str:
    """Check `target` once in this process, as `monitor check NAME` does (under its lock, its change mailed
    and sent to the channels); return one line."""
    from monitor.check import CheckContext, check_target
    from monitor.fetch import Archive, Fetcher
    from monitor.models import RunReport
    from monitor.notify import notify_run
    from monitor.store import SnapshotStore

    started = clock()

    archive = Archive(settings.archive, settings.fetch) if target.uses_archive else None
    try:
        with Fetcher(settings.fetch) as fetcher:
            result = check_target(target, CheckContext(fetcher=fetcher, store=SnapshotStore(settings.snapshots_dir),
                                                       reports_dir=settings.reports_dir, clock=clock,
                                                       lock_wait=settings.daemon.lock_wait, archive=archive))
    finally:
        if archive is not None:
            archive.close()
    notify_run(settings, RunReport(started_at=started, finished_at=clock(), results=(result,)), clock())
    if result.status == "error":
        return f"{target.name}: checked now: error: {result.error}"
    return f"{target.name}: checked now: {result.status}" + (f" ({result.note})" if result.note else "")


def field_errors(message: str, fields: tuple[str, ...] = ("url", "name", "profile", "every")) -> dict[str, str]:
    """Map a refused change's message (one line per problem, `file:line: targets[N].key: why`) to a form's
    fields (dotted keys, like `fetch.via`); what names no field goes under "form"."""
    errors: dict[str, str] = {}
    for line in message.splitlines():
        for field in fields:
            if f"].{field}:" in line:
                errors[field] = line.split(f"].{field}:", 1)[1].strip()
                break
        else:
            errors["form"] = line.split(": ", 1)[-1] if ".yaml" in line.split(": ", 1)[0] else line
    return errors


def life_marks(snapshots: list[Any], entries: list[ReportEntry], now: datetime) -> tuple[Mark, ...]:
    """Marks for a target's whole life on one axis, from its first snapshot to `now`: snapshots, then its
    reports (changes, errors) over them."""
    times = [s.taken_at for s in snapshots] + [e.created_at for e in entries]
    if not times:
        return ()
    start = min(times)
    span = max(now - start, timedelta(hours=1))

    def x(when: datetime) -> float:
        return round((when - start) / span * TIMELINE_WIDTH * 2, 1)

    marks = [Mark(x(s.taken_at), "snapshot", f"/t/{s.target}/s/{s.id}.txt", f"snapshot {stamp(s.taken_at)}")
             for s in snapshots]
    marks += [Mark(x(e.created_at), e.kind, f"/r/{e.target}/{e.id}", f"{e.kind} {stamp(e.created_at)}")
              for e in entries]
    return tuple(marks)


def current_settings(settings: Settings) -> Settings:
    """The settings as the config file says now (the app's own copy if the file cannot be read)."""
    from monitor.config import load_settings

    if settings.config_path is None:
        return settings
    try:
        return load_settings(settings.config_path)
    except MonitorError as exc:
        logger.warning("watches: reading %s: %s", settings.config_path, exc)
        return settings


def editable_target(settings: Settings, name: str) -> Target | None:
    """Return the target `name` as the config file says now, if the app may change it (the app was started
    from a config file, the name is valid and configured); else None."""
    if settings.config_path is None or not NAME_RE.match(name):
        return None
    return current_settings(settings).target(name)
