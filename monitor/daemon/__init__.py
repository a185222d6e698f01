"""Daemon stage: owns when and how many checks run.

schedule.py is the long-running daemon (APScheduler 3.x, one job per target, reloads, status file, graceful
stop); runner.py runs one batch of checks at once for `monitor check` (threads, and one process per core for
large runs); dispatch.py bounds concurrency per host. With an engine (`run --engine redis://`), the daemon
is the coordinator: remote.py sends due checks to `monitor worker`s through Dramatiq and Redis (engine.py,
messages in wire.py, worker processes set up by worker_entry.py) and stores their answers. Each check itself
is `monitor.check` (`check_target`, or `read_page` on a worker and `settle` here); the results go to
`monitor.notify`. It hands on `CheckResult`s and a `RunReport`.
"""

from typing import Any

from monitor.daemon.runner import run_checks

__all__ = ["Daemon", "install_signal_handlers", "read_status", "run_checks"]
_SCHEDULE = frozenset({"Daemon", "install_signal_handlers", "read_status"})


def __getattr__(name: str) -> Any:
    """Load schedule.py on first use: APScheduler and asyncio cost a one-off `monitor check` 0.1 s."""
    if name in _SCHEDULE:
        from monitor.daemon import schedule

        return getattr(schedule, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
