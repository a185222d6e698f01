"""The adaptive gate: two checks at once while the core is saturated, all workers while the network is slow."""

from __future__ import annotations

import threading
import time
from urllib.request import urlopen

from monitor.daemon.dispatch import Dispatcher
from monitor.daemon.gate import Gate, process_demand
from monitor.demo.server import Page, PageServer, RequestInfo
from monitor.models import Target


class Clock:
    """A settable monotonic clock; `busy` makes the demand follow it (a saturated core) or stand still."""

    def __init__(self) -> None:
        self.now = 0.0
        self.busy = 0.0
        self.used = 0.0

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.used += seconds * self.busy


def test_process_demand_counts_the_cpu_a_thread_burns() -> None:
    before = process_demand()
    end = time.thread_time() + 0.1
    while time.thread_time() < end:
        pass
    assert process_demand() - before >= 0.09


def test_a_saturated_core_brings_the_limit_down_to_the_floor_and_keeps_it_there() -> None:
    clock = Clock()
    clock.busy = 1.0
    gate = Gate(8, floor=2, window=0.25, demand=lambda: clock.used, monotonic=lambda: clock.now)
    gate.limit = 5
    for _ in range(10):
        with gate:
            clock.advance(0.3)
    assert gate.limit == 2


def test_an_idle_core_does_not_grow_the_limit_unless_checks_wait() -> None:
    clock = Clock()
    gate = Gate(8, window=0.25, demand=lambda: clock.used, monotonic=lambda: clock.now)
    for _ in range(5):
        with gate:
            clock.advance(0.3)
    assert gate.limit == 2, "one check at a time never waited: the limit is not what holds it back"


def test_checks_waiting_on_an_idle_core_open_the_gate() -> None:
    clock = Clock()
    gate = Gate(5, window=0.25, demand=lambda: clock.used, monotonic=lambda: clock.now)
    release = threading.Event()
    inside: list[int] = []

    def check() -> None:
        with gate:
            inside.append(1)
            release.wait(5)

    first = [threading.Thread(target=check) for _ in range(2)]
    for thread in first:
        thread.start()
    while len(inside) < 2:
        time.sleep(0.01)
    late = threading.Thread(target=check)
    late.start()
    time.sleep(0.05)
    assert len(inside) == 2, "the limit holds the third back"
    clock.advance(0.3)  # a window with no CPU asked: the two inside wait on the network
    deadline = time.monotonic() + 3
    while len(inside) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    for thread in [*first, late]:
        thread.join(5)
    assert len(inside) == 3 and gate.limit == 4, "doubled"


def test_a_slow_site_gets_every_worker_at_once() -> None:
    lock = threading.Lock()
    seen = {"now": 0, "peak": 0}

    def slow(_: RequestInfo) -> Page:
        """Answer after 0.3 s, counting the most requests held at once."""
        with lock:
            seen["now"] += 1
            seen["peak"] = max(seen["peak"], seen["now"])
        time.sleep(0.3)
        with lock:
            seen["now"] -= 1
        return Page(b"ok")

    done: list[str] = []

    def work(target: Target) -> None:
        with urlopen(target.url, timeout=5) as response:
            response.read()
        done.append(target.name)

    with PageServer({f"/{i}": slow for i in range(24)}) as server:
        dispatcher = Dispatcher(work, workers=6, per_host=6, host_delay=0)
        for i in range(24):
            dispatcher.submit(Target(name=f"p{i}", url=server.url(f"/{i}")))
        dispatcher.join()
    assert len(done) == 24
    assert seen["peak"] == 6, "waiting on the network, the gate opened to all six workers"
