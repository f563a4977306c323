"""
A token bucket per provisioning connection: SCIM_RATE_LIMIT requests per second, up to
SCIM_RATE_BURST at once; either at 0 turns the limit off.

With REDIS_URL set, the bucket lives in Redis and one Lua script refills and takes a token
atomically, on Redis's own clock, so every web node (and every worker of every node) draws from
the same bucket. Without REDIS_URL (the embedded set-up) the bucket is this process's own.
If Redis cannot be reached the request is served (fail open: throttling protects us, it must not
take provisioning down with Redis), counted in scim_rate_limit_errors_total and logged.
"""

import logging
import math
import threading
import time
from dataclasses import dataclass

import redis
from django.conf import settings


logger = logging.getLogger(__name__)
KEY_PREFIX = "ratelimit:scim:"
# Redis answers within this or the request goes on unthrottled.
REDIS_TIMEOUT_SECONDS = 0.5
# While Redis is unreachable, say so in the log at most this often (per process).
ERROR_LOG_EVERY_SECONDS = 60

# KEYS[1] the bucket; ARGV rate (tokens/s), burst. Returns {allowed 0|1, seconds to wait (string),
# KEYS[2]'s value}: with a second key (and ARGV[3] its value when it has none yet), the same call
# reads it, so a request's rate limit and the credentials epoch (accounts.connections.token_cache)
# cost one round trip. The bucket is a hash {tokens, at µs}; it expires once it would be full again.
_TAKE = """
local watched = false
if KEYS[2] then
  watched = redis.call('GET', KEYS[2])
  if not watched then
    redis.call('SET', KEYS[2], ARGV[3])
    watched = ARGV[3]
  end
end
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000000)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, tostring(wait), watched}
"""

# KEYS[1]'s value, set to ARGV[1] when it has none (the read above, when the limit is off).
_READ = """
local value = redis.call('GET', KEYS[1])
if not value then
  redis.call('SET', KEYS[1], ARGV[1])
  value = ARGV[1]
end
return value
"""


@dataclass(frozen=True)
class Throttled:
    """A refused request: how long until the bucket holds a token again (Retry-After)."""

    retry_after: int
    limit: int
    burst: int


def limits() -> tuple[int, int] | None:
    """(rate, burst), or None when the limit is off."""
    rate, burst = settings.SCIM_RATE_LIMIT, settings.SCIM_RATE_BURST
    if rate <= 0 or burst <= 0:
        return None
    return rate, burst


def rate_limit_take(connection_id: int) -> Throttled | None:
    """Take one request from the connection's bucket; a Throttled when it is empty, else None."""
    return rate_limit_take_reading(connection_id)[0]


def rate_limit_take_reading(
    connection_id: int, watched: str | None = None, initial: str = ""
) -> tuple[Throttled | None, str | None]:
    """
    rate_limit_take, and in the same Redis call the value of the key `watched` (set to `initial`
    when it has none). The value is None without Redis, or when it cannot be reached.
    """
    configured = limits()
    url = settings.REDIS_URL
    if configured is None:
        return None, (watched_value(watched, initial) if watched else None)
    rate, burst = configured
    value = None
    if url:
        try:
            allowed, wait, value = _redis_take(
                url, f"{KEY_PREFIX}{connection_id}", rate, burst, watched, initial
            )
        except redis.RedisError as exc:
            _redis_failed(exc)
            return None, None
    else:
        allowed, wait = _local_take(connection_id, rate, burst)
    if allowed:
        return None, value
    from config.metrics import rate_limited  # metrics imports Django models lazily; keep this light

    rate_limited(connection_id)
    # RFC 9110 §10.2.3: whole seconds; at least 1, or a client would retry at once and be refused.
    return Throttled(retry_after=max(1, math.ceil(wait)), limit=rate, burst=burst), value


# Redis ---------------------------------------------------------------------------------------------

_clients: dict[str, tuple[redis.Redis, object, object]] = {}
_clients_lock = threading.Lock()
_last_error_logged = 0.0


def _redis_take(
    url: str, key: str, rate: int, burst: int, watched: str | None = None, initial: str = ""
) -> tuple[bool, float, str | None]:
    keys = (key, watched) if watched else (key,)
    allowed, wait, *value = _run_script(url, 1, keys, (rate, burst, initial))
    return bool(int(allowed)), float(wait), _text(value[0]) if value else None


def watched_value(key: str, initial: str) -> str | None:
    """The value of `key` (set to `initial` when it has none), None without Redis or without answer."""
    if not settings.REDIS_URL:
        return None
    try:
        return _text(_run_script(settings.REDIS_URL, 2, (key,), (initial,)))
    except redis.RedisError:
        return None  # the caller goes without the value (the token cache reads the database)


_threads = threading.local()


def _run_script(url: str, which: int, keys: tuple, args: tuple):
    """
    EVALSHA on a connection this thread holds: redis-py's client path (a pool checkout and
    release per command, its retry wrapper, option parsing) was two thirds of the call's CPU,
    about 6 % of a SCIM read's (issue 15). One retry on a new connection, as redis-py's own.
    """
    held = getattr(_threads, "connections", None)
    if held is None:
        held = _threads.connections = {}
    client, *scripts = _client(url)
    script = scripts[which - 1]
    connection = held.get(url)
    if connection is None:
        connection = held[url] = client.connection_pool.get_connection()
    for attempt in range(3):
        try:
            connection.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
            return connection.read_response()
        except redis.exceptions.NoScriptError:
            if attempt == 2:
                raise
            script.sha = client.script_load(script.script)  # Redis restarted, or SCRIPT FLUSH
        except (redis.ConnectionError, redis.TimeoutError):
            connection.disconnect()  # reconnected by the next send
            if attempt >= 1:
                raise
    raise AssertionError("unreachable")


def _text(value) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def redis_client(url: str) -> redis.Redis:
    """This process's client of the Redis at url (the limiter's own: one connection pool)."""
    return _client(url)[0]


def _client(url: str):
    with _clients_lock:
        if url not in _clients:
            client = redis.Redis.from_url(
                url,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                health_check_interval=30,
            )
            _clients[url] = (client, client.register_script(_TAKE), client.register_script(_READ))
        return _clients[url]


def _redis_failed(exc: Exception) -> None:
    global _last_error_logged
    from config.metrics import rate_limit_error

    rate_limit_error()
    now = time.monotonic()
    if now - _last_error_logged >= ERROR_LOG_EVERY_SECONDS:
        _last_error_logged = now
        logger.warning("SCIM rate limit not enforced: Redis unreachable (%s); requests are served", exc)


# This process only (no REDIS_URL) -----------------------------------------------------------------

_buckets: dict[int, tuple[float, float]] = {}  # connection id → (tokens, at monotonic seconds)
_buckets_lock = threading.Lock()


def _local_take(connection_id: int, rate: int, burst: int) -> tuple[bool, float]:
    with _buckets_lock:
        now = time.monotonic()
        tokens, at = _buckets.get(connection_id, (float(burst), now))
        tokens = min(float(burst), tokens + max(0.0, now - at) * rate)
        if tokens >= 1:
            _buckets[connection_id] = (tokens - 1, now)
            return True, 0.0
        _buckets[connection_id] = (tokens, now)
        return False, (1 - tokens) / rate


def rate_limit_reset() -> None:
    """Forget this process's buckets and Redis clients (tests)."""
    with _buckets_lock:
        _buckets.clear()
    with _clients_lock:
        _clients.clear()
    _threads.connections = {}
