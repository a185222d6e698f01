"""The review queue: which reports a list shows, in what order, and a report's neighbours in it; pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from monitor.models import NAME_RE
from monitor.report import ReportEntry

STATUSES = ("all", "unreviewed", "reviewed")
KINDS = ("changed", "error", "removed", "recovered")


@dataclass(frozen=True)
class Filters:
    """A list's filters: one target (or all), review status, report kind (or all)."""

    target: str | None = None
    status: str = "all"
    kind: str | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        """Return the filters named in a query string; unknown or malformed values mean "no filter"."""
        target = args.get("target") or None
        status = args.get("status") or "all"
        kind = args.get("kind") or None
        return cls(target=target if target and NAME_RE.match(target) else None,
                   status=status if status in STATUSES else "all",
                   kind=kind if kind in KINDS else None)

    def query(self) -> dict[str, str]:
        """Return the filters as query parameters (only those that filter)."""
        out = {"target": self.target, "status": self.status if self.status != "all" else None, "kind": self.kind}
        return {k: v for k, v in out.items() if v}

    def matches(self, entry: ReportEntry) -> bool:
        """True if `entry` passes every filter."""
        return ((self.target is None or entry.target == self.target)
                and (self.kind is None or entry.kind == self.kind)
                and (self.status == "all" or entry.reviewed == (self.status == "reviewed")))

    def apply(self, entries: list[ReportEntry]) -> list[ReportEntry]:
        """Return the matching entries, unreviewed first, site-chrome changes below the real ones in each group,
        each part in the given (newest-first) order."""
        return sorted((e for e in entries if self.matches(e)), key=lambda e: (e.reviewed, e.chrome))


def neighbours(queue: list[ReportEntry], ref: str) -> tuple[ReportEntry | None, ReportEntry | None]:
    """Return the entries before and after `ref` in `queue` ((None, None) if it is not in it)."""
    refs = [e.ref for e in queue]
    if ref not in refs:
        return None, None
    i = refs.index(ref)
    return (queue[i - 1] if i > 0 else None), (queue[i + 1] if i + 1 < len(queue) else None)
