"""
gunicorn configuration of the web process (Procfile `web`, deploy/work-accounts-web.service, `make run`).

Every value is deliberate and can be changed through the environment; README "Deploying" lists them.
"""

import gc
import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# Where to listen: GUNICORN_BIND wins (e.g. 127.0.0.1:8000 or unix:/run/work-accounts.sock), else all
# interfaces on PORT (what Procfile platforms set).
bind = [os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{_int('PORT', 8000)}"]

# Processes x threads. The worker buffers each whole request (headers and body, against a
# deadline) on its event loop before a thread runs it, so idle or trickling connections never hold
# a thread (config/gunicorn_worker.py; gunicorn's sync and gthread workers starve under them).
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "config.gunicorn_worker.BufferingWorker")
# One process per core (at least 2, so a recycling or crashed worker never leaves the node without
# one; at most 8): each runs GUNICORN_THREADS requests and its own provisioning-log flusher, so
# processes beyond the cores only contend for them. Measured on 2 cores at 16 connections
# (benchmarks/README.md, scim_load.py): 2 processes used 10-30 % less CPU per request than 5.
workers = _int("WEB_CONCURRENCY", max(2, min(multiprocessing.cpu_count(), 8)))
# Threads per process: 4 answered as many requests/s as 8 at 16 connections on 2 cores, with a
# shorter tail (p99 32-69 ms against 36-94 ms, benchmarks/README.md ninth pass): requests beyond
# them wait in the worker's FIFO queue instead of contending for one GIL, and each thread keeps
# a database connection, so half as many.
threads = _int("GUNICORN_THREADS", 4)
# Open connections per worker process (idle and kept-alive ones included) before it stops
# accepting; further ones wait in the listen backlog.
worker_connections = _int("GUNICORN_WORKER_CONNECTIONS", 1000)
# Connections the kernel queues for us while every worker is busy; beyond it clients are refused at
# once rather than hanging (the kernel caps it at net.core.somaxconn).
backlog = _int("GUNICORN_BACKLOG", 2048)

# Entra reuses its connections between requests of a cycle; a balancer reuses its connections to
# the nodes. Keep idle connections longer than a balancer's idle timeout (60 s on most), so the
# balancer, not us, closes them and never sends a request down a connection we just closed.
keepalive = _int("GUNICORN_KEEPALIVE", 75)
# A request running longer than this (a stuck worker) is killed and its worker replaced; SCIM
# requests take well under a second, an export a few seconds.
timeout = _int("GUNICORN_TIMEOUT", 30)
# On SIGTERM (a deploy), in-flight requests get this long to finish.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# The buffering worker's own limits (read from the environment by config/gunicorn_worker.py):
# GUNICORN_REQUEST_READ_TIMEOUT (15 s for a whole request from its first byte, else 408),
# GUNICORN_MAX_REQUEST_LINE (64 KiB, else 414), GUNICORN_MAX_BUFFERED_BODY (4 MiB, larger bodies
# go to Django unbuffered, which refuses them with 413) and GUNICORN_MAX_QUEUED (requests waiting
# for a thread per process before new ones get 503 with Retry-After at once; 32 x threads, 128).
# Recycle workers now and then (jittered so that they do not all restart together): a guard
# against a leak, not a need (a worker's RSS is flat over 100,000 requests), and a recycle costs
# about 0.6 s of CPU (new connections, statements compiled again) and its kept-alive clients:
# every 10,000 requests was every 20-40 s per worker at 250-500 requests/s (benchmarks/README.md).
max_requests = _int("GUNICORN_MAX_REQUESTS", 100_000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 10_000)

# Long SCIM filters (issue 12): gunicorn caps its request-line limit at 8,190 bytes unless it is
# 0 (unlimited, 1 MiB in practice); the buffering worker enforces its own limit instead
# (GUNICORN_MAX_REQUEST_LINE, 64 KiB), so at least 16 KiB of query string reaches Django, which
# applies SCIM's documented filter limit.
limit_request_line = 0

# X-Forwarded-* are judged by Django (config.proxies, TRUSTED_PROXIES) alone: gunicorn believes
# none of them, from anyone.
forwarded_allow_ips = ""

# Access log on stdout: the real client address (config.proxies puts it in the environ), the
# request id (config.middleware echoes it in `client-request-id`), and the time taken in ms.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
access_log_format = (
    '%({portal.client_address}e)s "%(r)s" %(s)s %(B)s %(M)sms request_id=%({client-request-id}o)s "%(a)s"'
)
# gunicorn's logger, with access-log atoms built only for what the format uses (config/gunicorn_logging.py).
logger_class = "config.gunicorn_logging.AccessLogger"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Django is imported once in the arbiter and forked, so a broken configuration fails at start-up
# (fail closed) instead of in every worker.
preload_app = True
# No gunicornc control socket: one path per user ($HOME/.gunicorn/gunicorn.ctl) would be shared by
# every gunicorn on the host (two web processes on one machine, the test suite), and nothing uses it.
control_socket_disable = True
# Move everything the preloaded app allocated (Django, DRF, the URL resolver: about 130,000
# objects) into the permanent generation before forking, so a worker's full collections scan only
# what it allocates itself: an unfrozen one took 25-60 ms and was the audit API's p99 tail.
# It also keeps those pages shared copy-on-write between workers. GUNICORN_GC_FREEZE=0 turns it off.
gc_freeze = os.environ.get("GUNICORN_GC_FREEZE", "1").strip() not in ("0", "false", "no")


def on_starting(server) -> None:
    # prometheus-client's multiprocess files must start empty, or a restart adds the previous
    # run's counters to this one's.
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory and os.path.isdir(directory):
        for name in os.listdir(directory):
            if name.endswith(".db"):
                os.unlink(os.path.join(directory, name))


def pre_fork(server, worker) -> None:
    # Runs in the arbiter before each worker is forked (replacements too); freezing again is cheap.
    if gc_freeze:
        gc.freeze()


def child_exit(server, worker) -> None:
    # Imported here: the config file is read before Django is set up.
    from config.metrics import gunicorn_child_exit

    gunicorn_child_exit(server, worker)


def worker_exit(server, worker) -> None:
    # In the worker, after its last request (SIGTERM, recycling, a restart): the provisioning
    # events still queued are written before the process ends.
    from provisioning_logs.batching import flush_at_exit

    flush_at_exit()
