"""The distributed engine's plumbing on Dramatiq and Redis: the broker, the two actors, politeness across
machines, and what workers report about themselves.

Two queues: `monitor-checks` (the coordinator sends one message per due check; `monitor worker`s consume it)
and `monitor-results` (workers send back what they read; only the coordinator consumes it). Dramatiq
acknowledges a message only after its actor returns, and its Redis broker hands the unacknowledged messages of
a worker whose heartbeat stopped for `redelivery` seconds to another worker; maintenance runs on every broker
command so that happens within seconds. Per-host politeness uses the same Redis: Dramatiq's
`ConcurrentRateLimiter` for `per_host`, and a `SET NX PX` key per host for the `host_delay` gap between starts.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from monitor.errors import MonitorError

logger = logging.getLogger(__name__)

CHECKS = "monitor-checks"
RESULTS = "monitor-results"
PREFIX = "monitor:"             # our own keys beside Dramatiq's (`dramatiq:*`)
WORKER_TTL = 300                # seconds a worker's counters outlive its last check
SEEN_WINDOW = 60                # `monitor status` lists the workers seen this recently
ACTOR_TIME_LIMIT = 15 * 60_000  # ms; a check is bounded by its own timeouts well before this


class EngineError(MonitorError):
    """Redis cannot be reached or answers wrongly."""

    kind = "engine"


@dataclass(frozen=True)
class Engine:
    """A connected broker and its two actors."""

    broker: Any
    run_check: Any    # dramatiq.Actor: (message) -> None, runs on workers
    take_result: Any  # dramatiq.Actor: (message) -> None, runs on the coordinator

    @property
    def client(self) -> Any:
        """The broker's redis client."""
        return self.broker.client


def connect(url: str, redelivery: float, on_check: Callable[[dict[str, Any]], None],
            on_result: Callable[[dict[str, Any]], None]) -> Engine:
    """Return the Engine on the Redis at `url` with the two actors bound to `on_check` and `on_result`.
    Raises EngineError naming the URL when Redis does not answer."""
    import dramatiq
    import redis
    from dramatiq.brokers.redis import MAINTENANCE_SCALE, RedisBroker
    from dramatiq.middleware import AgeLimit, Callbacks, Pipelines, Retries, ShutdownNotifications, TimeLimit

    # Dramatiq's defaults without Prometheus (it would open an HTTP port in every worker).
    middleware = [AgeLimit(), TimeLimit(), ShutdownNotifications(), Callbacks(), Pipelines(), Retries()]
    try:
        client = redis.Redis(connection_pool=redis.ConnectionPool.from_url(
            url, socket_connect_timeout=5, socket_timeout=30, health_check_interval=10))
        broker = RedisBroker(client=client, middleware=middleware, heartbeat_timeout=int(redelivery * 1000),
                             maintenance_chance=MAINTENANCE_SCALE)
        client.ping()
    except (redis.RedisError, ValueError) as exc:
        raise EngineError(f"engine {safe_url(url)}: Redis does not answer ({exc}); is redis-server running?") from exc
    dramatiq.set_broker(broker)
    run_check = dramatiq.Actor(on_check, broker=broker, actor_name="monitor_check", queue_name=CHECKS, priority=0,
                               options={"max_retries": 0, "time_limit": ACTOR_TIME_LIMIT})
    take_result = dramatiq.Actor(on_result, broker=broker, actor_name="monitor_result", queue_name=RESULTS,
                                 priority=0, options={"max_retries": 3, "min_backoff": 1000, "max_backoff": 10000})
    return Engine(broker, run_check, take_result)


def safe_url(url: str) -> str:
    """The URL without its password (it may carry one: redis://:secret@host)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"


@contextmanager
def host_turn(engine: Engine, host: str, per_host: int, host_delay: float, hold: float) -> Iterator[float]:
    """Take a turn on `host` for all workers: one of its `per_host` slots, and a start at least `host_delay`
    seconds after the previous one. Yields 0 when the turn is ours (the slot is held until the block ends, or
    `hold` seconds if this worker dies), else the seconds to wait before asking again (nothing is held)."""
    from dramatiq.rate_limits import ConcurrentRateLimiter
    from dramatiq.rate_limits.backends import RedisBackend

    limiter = ConcurrentRateLimiter(RedisBackend(client=engine.client), f"{PREFIX}host:{host}", limit=per_host,
                                    ttl=int(hold * 1000))
    with limiter.acquire(raise_on_failure=False) as acquired:
        if not acquired:
            yield max(0.2, host_delay / 2)
            return
        if host_delay > 0:
            gap_key = f"{PREFIX}gap:{host}"
            if not engine.client.set(gap_key, "1", nx=True, px=max(1, int(host_delay * 1000))):
                wait = engine.client.pttl(gap_key)
                yield max(0.05, (wait if wait and wait > 0 else 50) / 1000)
                return
        yield 0.0


def worker_id() -> str:
    """This worker process's name: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def count_check(engine: Engine, name: str, error: bool) -> None:
    """Record one check (and whether it failed) for this worker, for `monitor status`; never raises."""
    key = f"{PREFIX}worker:{name}"
    try:
        with engine.client.pipeline() as pipe:
            pipe.hincrby(key, "checks", 1)
            if error:
                pipe.hincrby(key, "errors", 1)
            pipe.hset(key, "seen", f"{time.time():.3f}")
            pipe.expire(key, WORKER_TTL)
            pipe.execute()
    except Exception as exc:
        logger.debug("worker counters: %s", exc)


def engine_status(engine: Engine) -> dict[str, Any]:
    """Return the queue depth (waiting and delayed checks, results not yet taken) and the workers seen in the
    last minute with their checks and errors. Raises EngineError."""
    import redis

    client = engine.client
    try:
        queued = client.llen(f"dramatiq:{CHECKS}") + client.llen(f"dramatiq:{CHECKS}.DQ")
        results = client.llen(f"dramatiq:{RESULTS}")
        workers = []
        for key in client.scan_iter(f"{PREFIX}worker:*"):
            fields = {k.decode(): v.decode() for k, v in client.hgetall(key).items()}
            if time.time() - float(fields.get("seen", 0)) <= SEEN_WINDOW:
                workers.append({"worker": key.decode()[len(PREFIX) + 7:], "checks": int(fields.get("checks", 0)),
                                "errors": int(fields.get("errors", 0))})
    except redis.RedisError as exc:
        raise EngineError(f"engine: Redis does not answer ({exc})") from exc
    return {"queued": queued, "results_waiting": results, "workers": sorted(workers, key=lambda w: w["worker"])}
