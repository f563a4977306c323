"""
What the SCIM rate limit adds to a request: the time of one config.ratelimit.rate_limit_take (the
Lua token bucket in Redis, one round trip; and the process-local bucket used without REDIS_URL),
one thread and several, with the limit high enough never to refuse.

    REDIS_URL=redis://127.0.0.1:6379/2 .venv/bin/python benchmarks/rate_limit.py [--takes 5000]

Needs Redis at REDIS_URL; writes only keys under ratelimit:bench-<random>: and deletes them.
"""

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def timed_takes(take, takes: int, connection_id: int) -> list[float]:
    times = []
    for _ in range(takes):
        started = time.perf_counter()
        take(connection_id)
        times.append(time.perf_counter() - started)
    return times


def report(label: str, times: list[float], seconds: float) -> None:
    times = sorted(times)
    p = lambda q: times[min(len(times) - 1, int(q * len(times)))] * 1e6  # noqa: E731
    print(
        f"{label:<38} {len(times) / seconds:>9,.0f} takes/s   p50 {p(0.5):7.0f} µs   "
        f"p99 {p(0.99):7.0f} µs   mean {statistics.fmean(times) * 1e6:7.0f} µs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--takes", type=int, default=5000, help="takes per thread (default 5000)")
    parser.add_argument("--threads", type=int, default=4, help="threads of the parallel run (default 4)")
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL")
    if not url:
        sys.exit("Set REDIS_URL (e.g. redis://127.0.0.1:6379/2).")

    from django.conf import settings

    settings.configure(REDIS_URL=url, SCIM_RATE_LIMIT=10**9, SCIM_RATE_BURST=10**9)
    import redis

    from config import ratelimit

    ratelimit.KEY_PREFIX = f"ratelimit:bench-{uuid.uuid4().hex}:"
    try:
        print(f"rate_limit_take, {args.takes:,} takes per thread, limit never reached\n")
        for label, redis_url in (("Redis (REDIS_URL), 1 thread", url), ("process-local, 1 thread", "")):
            settings.REDIS_URL = redis_url
            timed_takes(ratelimit.rate_limit_take, 200, 1)  # warm-up: connection, script load
            started = time.perf_counter()
            times = timed_takes(ratelimit.rate_limit_take, args.takes, 1)
            report(label, times, time.perf_counter() - started)

        settings.REDIS_URL = url
        results: list[list[float]] = [[] for _ in range(args.threads)]

        def run(index):
            results[index] = timed_takes(ratelimit.rate_limit_take, args.takes, 1)  # one shared bucket

        threads = [threading.Thread(target=run, args=(index,)) for index in range(args.threads)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        report(
            f"Redis, {args.threads} threads, one bucket",
            [t for times in results for t in times],
            time.perf_counter() - started,
        )
    finally:
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(f"{ratelimit.KEY_PREFIX}*"):
            client.delete(key)


if __name__ == "__main__":
    main()
