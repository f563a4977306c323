"""
Exactly one run of a periodic job at a time, even when two beats run by mistake.

`single_run(name, ttl)` wraps a job in a lock: Redis `SET key token NX PX ttl` when REDIS_URL is
set (the beat and the workers share it), released only by its holder (a Lua compare-and-delete,
so a run that outlived its lock cannot free the next run's). A run that finds the lock held logs
that it skipped and returns None. A run that crashed leaves its lock to expire after `ttl`
milliseconds (set longer than the job's time limit). Without REDIS_URL there is no beat and no
worker (tasks run eagerly in-process): the lock is this process's own.

The jobs themselves stay idempotent (the digest re-checks its interval under the health row's
lock), so a second run after the first finished does nothing twice either.
"""

import functools
import logging
import secrets
import threading
import time

import redis
from django.conf import settings


logger = logging.getLogger(__name__)
KEY_PREFIX = "beat-lock:"
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

_local: dict[str, tuple[str, float]] = {}  # key → (token, expires at monotonic)
_local_lock = threading.Lock()


class JobLock:
    def __init__(self, name: str, ttl_ms: int):
        self.key = f"{KEY_PREFIX}{name}"
        self.ttl_ms = ttl_ms
        self.token = secrets.token_hex(16)

    def acquire(self) -> bool:
        if settings.REDIS_URL:
            return bool(_redis().set(self.key, self.token, nx=True, px=self.ttl_ms))
        with _local_lock:
            held = _local.get(self.key)
            now = time.monotonic()
            if held is not None and held[1] > now:
                return False
            _local[self.key] = (self.token, now + self.ttl_ms / 1000)
            return True

    def release(self) -> None:
        if settings.REDIS_URL:
            _redis().eval(_RELEASE, 1, self.key, self.token)
            return
        with _local_lock:
            if _local.get(self.key, ("",))[0] == self.token:
                del _local[self.key]


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5)


def single_run(name: str, *, ttl_seconds: int):
    """Decorate a periodic job: skip (log, return None) while another run of it holds the lock."""

    def decorate(job):
        @functools.wraps(job)
        def run(*args, **kwargs):
            lock = JobLock(name, ttl_seconds * 1000)
            if not lock.acquire():
                logger.info("Periodic job %s skipped: another run holds its lock (%s)", name, lock.key)
                return None
            try:
                return job(*args, **kwargs)
            finally:
                try:
                    lock.release()
                except redis.RedisError:  # it expires on its own
                    logger.warning("Could not release the lock of periodic job %s", name, exc_info=True)

        return run

    return decorate
