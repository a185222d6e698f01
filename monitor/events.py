"""A target's error state as events: decide when a failure or a recovery is worth reporting; pure.

A failure streak is logged from its first failure, but reported once: when it reaches the target's
`error_threshold` ("error", or "removed" when the page answers 404/410). While the streak lasts nothing
more is reported; the first success after a reported streak is one "recovered" event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from monitor.models import CheckStatus, ReportKind, TargetState, Validators

GONE_STATUSES = frozenset({404, 410})


@dataclass(frozen=True)
class FailureDecision:
    """What to do about one failed check: the new state, the event to report (if any), how loud to log."""

    state: TargetState
    event: ReportKind | None
    log_level: int


def on_failure(state: TargetState, *, now: datetime, error: str, status: int | None,
               threshold: int) -> FailureDecision:
    """Return the decision for a failed check of a target in `state`.

    `status` is the HTTP status of the failure, if it was one. The event is "error" (or "removed" for
    404/410) exactly when this failure makes the streak reach `threshold` and nothing was reported yet.
    """
    streak = state.consecutive_failures + 1
    new_state = replace(state, last_checked=now, last_status="error", last_error=error,
                        consecutive_failures=streak, failing_since=state.failing_since or now,
                        last_error_status=status)
    event: ReportKind | None = None
    if streak >= threshold and state.reported is None:
        event = "removed" if status in GONE_STATUSES else "error"
        new_state = replace(new_state, reported=event)
    if event is not None:
        level = logging.ERROR
    elif streak == 1:
        level = logging.WARNING
    else:
        level = logging.INFO
    return FailureDecision(new_state, event, level)


def on_success(state: TargetState, *, now: datetime, status: CheckStatus,
               validators: Validators | None) -> tuple[TargetState, bool]:
    """Return the state after a successful check and whether it is a "recovered" event.

    A recovery is an event only when the streak it ends was reported.
    """
    recovered = state.reported is not None
    new_state = replace(state, last_checked=now, last_status=status, last_error=None,
                        consecutive_failures=0, failing_since=None, last_error_status=None, reported=None,
                        last_change=now if status == "changed" else state.last_change,
                        validators=validators or state.validators)
    return new_state, recovered
