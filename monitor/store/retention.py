"""Retention: which snapshots and reports of a target a `keep` policy lets go; pure, no I/O.

A snapshot is kept if it is among the newest `count` or younger than `age`. Always kept: the newest
snapshot (the next check compares with it), baseline imports, and both snapshots of every kept report.
A change report is kept while its new snapshot is; an event report (error/removed/recovered without a
new snapshot) while it is no older than the oldest snapshot the policy keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.models import Retention, Snapshot


@dataclass(frozen=True)
class ReportRef:
    """What retention needs to know about a stored report."""

    id: str
    created_at: datetime
    old_id: str | None
    new_id: str | None
    kind: str


@dataclass(frozen=True)
class Plan:
    """What to remove: snapshot ids and report ids."""

    snapshots: tuple[str, ...]
    reports: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.snapshots or self.reports)


def plan(snapshots: list[Snapshot], reports: list[ReportRef], policy: Retention | None,
         now: datetime) -> Plan:
    """Return what `policy` removes from a target with `snapshots` (any order) and `reports`."""
    if policy is None or (policy.count is None and policy.age is None):
        return Plan((), ())
    ordered = sorted(snapshots, key=lambda s: s.id, reverse=True)
    kept: set[str] = set()
    for index, snap in enumerate(ordered):
        by_count = policy.count is not None and index < policy.count
        by_age = policy.age is not None and now - snap.taken_at <= policy.age
        if index == 0 or by_count or by_age:
            kept.add(snap.id)
    by_policy = [s for s in ordered if s.id in kept]
    horizon = min(s.taken_at for s in by_policy) if by_policy else now
    kept |= {s.id for s in ordered if s.source == "baseline"}
    decided = frozenset(kept)  # reports are judged by this set, so protection does not cascade
    kept_reports = set()
    for report in reports:
        if report.new_id is not None and report.kind == "changed":
            keep = report.new_id in decided
        else:
            keep = report.created_at >= horizon or (report.new_id is not None and report.new_id in decided)
        if keep:
            kept_reports.add(report.id)
            kept |= {sid for sid in (report.old_id, report.new_id) if sid}
    return Plan(
        snapshots=tuple(s.id for s in ordered if s.id not in kept),
        reports=tuple(sorted(r.id for r in reports if r.id not in kept_reports)),
    )
