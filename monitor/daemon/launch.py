"""A one-off run started on two cores: the config is read in this process while a forked one loads the checks.

Before its first check a `monitor check` spends about 0.4 s on one core: 0.2 s importing and validating the
config (pydantic, YAML, 500 targets) and 0.2 s importing what checks pages (requests, lxml, Jinja, the
stages), with the second core idle. `Launch` forks first: the child imports the check stack (runner.py)
while this process reads the config; the settings and targets are then sent to it (pickled over a pipe),
it runs `run_checks` (forking its own worker processes for a large run) and sends each result back as it
is ready, then the RunReport. This module imports nothing of the stack itself, so the CLI that uses it
stays light until the child has it.

Only where fork is safe and its output goes where this process's does: on Linux, with no other thread
running here (a fork copies only the calling thread), stdout and stderr real files (the child's log lines
go straight to them). Elsewhere `run` runs the checks in this process, as before.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from monitor.errors import MonitorError

if TYPE_CHECKING:
    from monitor.models import CheckResult, RunReport, Settings, Target

logger = logging.getLogger(__name__)


def _forkable() -> bool:
    """True when a child can run the checks (see the module doc)."""
    if not sys.platform.startswith("linux") or threading.active_count() > 1:
        return False
    try:
        sys.stdout.fileno()
        sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError and a ValueError
        return False
    return True


class Launch:
    """`with Launch() as launch:` forks the child that will check (when it can); `launch.run(...)` hands it the
    run. Leaving the block without a run (the config was invalid) ends the child."""

    def __init__(self) -> None:
        self._pid: int | None = None
        self._job: IO[bytes] | None = None
        self._answers: IO[bytes] | None = None

    def __enter__(self) -> Launch:
        if not _forkable():
            return self
        job_r, job_w = os.pipe()
        ans_r, ans_w = os.pipe()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()  # nothing buffered here is written twice
        pid = os.fork()
        if pid == 0:  # pragma: no cover (the child; covered by the subprocess tests, not by coverage)
            os.close(job_w)
            os.close(ans_r)
            _serve(job_r, ans_w)
        os.close(job_r)
        os.close(ans_w)
        self._pid = pid
        self._job = os.fdopen(job_w, "wb")
        self._answers = os.fdopen(ans_r, "rb")
        return self

    def run(self, settings: Settings, targets: Iterable[Target],
            on_result: Callable[[CheckResult], None] | None = None) -> RunReport:
        """Run the checks as runner.run_checks does and return its RunReport; `on_result` sees each result here
        as the child sends it. Raises MonitorError if the child ends without a report."""
        targets = list(targets)
        if self._job is None or self._answers is None:
            from monitor.daemon.runner import run_checks

            return run_checks(settings, targets, on_result=on_result)
        try:
            pickle.dump((settings, targets), self._job, protocol=pickle.HIGHEST_PROTOCOL)
            self._job.close()
        except OSError:  # the child is gone (a broken pipe): its answers end at once, and say how it ended
            logger.debug("could not hand the run to the checking process", exc_info=True)
        while True:
            try:
                kind, value = pickle.load(self._answers)
            except EOFError:
                raise MonitorError(f"the checking process ended without a report ({self._status()})") from None
            if kind == "result" and on_result is not None:
                on_result(value)
            elif kind == "report":
                return value  # type: ignore[no-any-return]
            elif kind == "error":
                raise MonitorError(f"the checking process failed: {value}")

    def _status(self) -> str:
        """How the child ended, in words (waiting for it)."""
        if self._pid is None:
            return "not started"
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        if os.WIFSIGNALED(status):
            return f"killed by signal {os.WTERMSIG(status)}"
        return f"exit status {os.waitstatus_to_exitcode(status)}"

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for stream in (self._job, self._answers):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        if self._pid is not None:
            if exc_type is not None and not issubclass(exc_type, MonitorError):
                with contextlib.suppress(ProcessLookupError):  # interrupted: the child must not go on alone
                    os.kill(self._pid, signal.SIGTERM)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            self._pid = None


def _serve(job_fd: int, answer_fd: int) -> None:
    """The child: import the check stack, wait for the run, check, answer; never returns."""
    code = 0
    answers = os.fdopen(answer_fd, "wb")

    def send(kind: str, value: Any) -> None:
        pickle.dump((kind, value), answers, protocol=pickle.HIGHEST_PROTOCOL)
        answers.flush()

    try:
        from monitor.daemon.runner import run_checks  # while the parent reads the config

        with os.fdopen(job_fd, "rb") as job:
            try:
                settings, targets = pickle.load(job)
            except EOFError:  # the parent gave up (an invalid config): nothing to do
                os._exit(0)
        report = run_checks(settings, targets, on_result=lambda result: send("result", result))
        send("report", report)
    except BaseException as exc:  # the parent says it, with the exit code it decides
        code = 1
        with contextlib.suppress(Exception):
            logger.debug("checking process failed", exc_info=True)
            send("error", f"{type(exc).__name__}: {exc}")
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        with contextlib.suppress(Exception):
            answers.close()
        os._exit(code)
