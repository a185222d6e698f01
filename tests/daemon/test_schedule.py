"""Scheduling decisions (first runs from stored state) and the polite dispatcher, without subprocesses."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta

from monitor.daemon.dispatch import Dispatcher, host_of
from monitor.daemon.schedule import first_run, interval_seconds
from monitor.models import Target

NOW = datetime(2020, 1, 7, 12, 0, tzinfo=UTC)


def target(every: timedelta | None = timedelta(hours=6), cron: str | None = None,
           url: str = "https://a.gov/x") -> Target:
    return Target(name="t", url=url, every=None if cron else every, cron=cron)


def test_a_recently_checked_target_waits_for_its_turn() -> None:
    assert first_run(target(), NOW - timedelta(hours=1), NOW, 60, random.Random(1)) == NOW + timedelta(hours=5)


def test_an_overdue_or_new_target_runs_promptly_within_the_spread() -> None:
    rng = random.Random(1)
    runs = [first_run(target(), last, NOW, 60, rng) for last in [None, NOW - timedelta(days=3)] * 50]
    assert all(NOW <= run <= NOW + timedelta(seconds=60) for run in runs)
    assert len({run for run in runs}) > 50, "spread, not all at once"


def test_the_spread_never_exceeds_a_short_interval() -> None:
    runs = [first_run(target(timedelta(seconds=5)), None, NOW, 60, random.Random(i)) for i in range(50)]
    assert max(runs) <= NOW + timedelta(seconds=5)


def test_cron_targets_are_due_from_their_last_check() -> None:
    cron = target(cron="0 */6 * * *")  # fires at 00, 06, 12, 18 h
    now = NOW.replace(hour=13)
    assert interval_seconds(cron, now) == 6 * 3600
    assert first_run(cron, now - timedelta(minutes=30), now, 60, random.Random(1)) == now.replace(hour=18)
    overdue = first_run(cron, now - timedelta(hours=2), now, 60, random.Random(1))  # missed the 12:00 run
    assert now <= overdue <= now + timedelta(seconds=60)


def test_host_of() -> None:
    assert host_of(target(url="https://www.defense.gov/a")) == "www.defense.gov:443"
    assert host_of(target(url="http://127.0.0.1:8080/a")) == "127.0.0.1:8080"


def test_a_slow_host_does_not_starve_other_hosts_and_is_never_hit_twice_at_once() -> None:
    lock = threading.Lock()
    running: dict[str, int] = {}
    peak: dict[str, int] = {}
    finished: list[str] = []

    def work(t: Target) -> None:
        host = host_of(t)
        with lock:
            running[host] = running.get(host, 0) + 1
            peak[host] = max(peak.get(host, 0), running[host])
        time.sleep(0.3 if "slow" in t.url else 0.01)
        with lock:
            running[host] -= 1
            finished.append(t.name)

    dispatcher = Dispatcher(work, workers=2, per_host=1, host_delay=0)
    for i in range(4):
        assert dispatcher.submit(Target(name=f"slow-{i}", url=f"http://slow.example/{i}"))
    for i in range(4):
        assert dispatcher.submit(Target(name=f"fast-{i}", url=f"http://fast.example/{i}"))
    assert not dispatcher.submit(Target(name="fast-0", url="http://fast.example/0")), "no double queueing"
    deadline = time.monotonic() + 5
    while len([n for n in finished if n.startswith("fast")]) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    fast_done = len([n for n in finished if n.startswith("fast")])
    slow_done = len([n for n in finished if n.startswith("slow")])
    assert fast_done == 4 and slow_done <= 1, "fast host finished while the slow host was still busy"
    assert dispatcher.close(grace=5)
    assert peak == {"slow.example:80": 1, "fast.example:80": 1}


def test_host_delay_spaces_request_starts() -> None:
    starts: list[float] = []
    dispatcher = Dispatcher(lambda t: starts.append(time.monotonic()), workers=4, per_host=4, host_delay=0.1)
    for i in range(3):
        dispatcher.submit(Target(name=f"p-{i}", url=f"http://same.example/{i}"))
    deadline = time.monotonic() + 5
    while len(starts) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert dispatcher.close(grace=5)
    gaps = [b - a for a, b in zip(sorted(starts), sorted(starts)[1:], strict=False)]
    assert len(starts) == 3 and all(gap >= 0.09 for gap in gaps)
