"""Daemon stage: owns when and how many checks run.

schedule.py is the long-running daemon (APScheduler 3.x, one job per target, reloads, status file, graceful
stop); runner.py runs one batch of checks at once for `monitor check` (threads, and one process per core for
large runs), launch.py starts it in a forked process that loads the check stack while the CLI reads the
config; dispatch.py bounds concurrency per host, gate.py how many of its checks run at once. With an engine
(`run --engine redis://`), the daemon is the coordinator: remote.py sends due checks to `monitor worker`s
through Dramatiq and Redis (engine.py, messages in wire.py, worker processes set up by worker_entry.py) and
stores their answers. Each check itself
is `monitor.check` (`check_target`, or `read_page` on a worker and `settle` here); the results go to
`monitor.notify`. It hands on `CheckResult`s and a `RunReport`.
"""

from typing import Any

__all__ = ["Daemon", "Launch", "install_signal_handlers", "read_status", "run_checks"]
_SCHEDULE = frozenset({"Daemon", "install_signal_handlers", "read_status"})


def __getattr__(name: str) -> Any:
    """Load each module on first use: schedule.py (APScheduler and asyncio cost a one-off `monitor check`
    0.1 s), runner.py (the whole check stack, which a `monitor check` loads in its checking process while it
    reads the config: launch.py), launch.py."""
    if name in _SCHEDULE:
        from monitor.daemon import schedule

        return getattr(schedule, name)
    if name == "run_checks":
        from monitor.daemon.runner import run_checks

        return run_checks
    if name == "Launch":
        from monitor.daemon.launch import Launch

        return Launch
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
