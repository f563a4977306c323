"""
Prometheus metrics at /metrics (prometheus-client).

Counters and histograms are written by the process that served the request. Under gunicorn
(several worker processes) set PROMETHEUS_MULTIPROC_DIR to an empty directory writable by every
worker, the same for all of them and wiped before gunicorn starts; prometheus-client then keeps
each process's values in files there and a scrape adds them up (multiprocess mode). gunicorn's
`child_exit` hook must call `gunicorn_child_exit` below so a dead worker's gauges are dropped:

    # config/gunicorn.py
    from config.metrics import gunicorn_child_exit as child_exit

Everything read from the database or Redis (connection health, outbox, Celery queue) is computed
at scrape time by a collector, never kept in a process.

/metrics answers only with the METRICS_TOKEN bearer, or to a client address in
METRICS_ALLOWED_IPS; with neither set it is 404: never open by default.
"""

import hmac
import ipaddress
import logging
import os
import time

from django.conf import settings
from django.http import Http404, HttpResponse
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST


logger = logging.getLogger(__name__)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

SCIM_REQUESTS = Counter(
    "scim_requests",
    "SCIM requests answered, by resource type, action, HTTP status and provisioning connection.",
    ["resource", "action", "status", "connection"],
)
SCIM_LATENCY = Histogram(
    "scim_request_duration_seconds",
    "Time to answer a SCIM request (its provisioning event is written after, by the log's flusher).",
    ["resource", "action"],
    buckets=LATENCY_BUCKETS,
)
SCIM_RATE_LIMITED = Counter(
    "scim_rate_limited",
    "SCIM requests refused with 429 by the per-connection rate limit (SCIM_RATE_LIMIT).",
    ["connection"],
)
SCIM_RATE_LIMIT_ERRORS = Counter(
    "scim_rate_limit_errors",
    "SCIM requests served unthrottled because Redis, which holds the rate limit, was unreachable.",
)


PROVISIONING_LOG_BATCH_EVENTS = Histogram(
    "provisioning_log_batch_events",
    "Provisioning events written per batch by a web process's log flusher.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
PROVISIONING_LOG_BATCH_SECONDS = Histogram(
    "provisioning_log_batch_duration_seconds",
    "Time to write one batch of provisioning events (its transaction, to COMMIT).",
    buckets=LATENCY_BUCKETS,
)
PROVISIONING_LOG_UNQUEUED = Counter(
    "provisioning_log_unqueued",
    "Provisioning events a request wrote itself: the flusher's queue was full (PROVISIONING_LOG_MAX_QUEUED) "
    "or the process was stopping.",
)


def log_batch_written(events: int, seconds: float) -> None:
    PROVISIONING_LOG_BATCH_EVENTS.observe(events)
    PROVISIONING_LOG_BATCH_SECONDS.observe(seconds)


def log_event_unqueued() -> None:
    PROVISIONING_LOG_UNQUEUED.inc()


def rate_limited(connection_id) -> None:
    SCIM_RATE_LIMITED.labels(connection=str(connection_id)).inc()


def rate_limit_error() -> None:
    SCIM_RATE_LIMIT_ERRORS.inc()


# Recording SCIM requests (middleware) ----------------------------------------------------------


class ScimMetricsMiddleware:
    """Counts and times every /scim/v2/ request; labels come from what the SCIM views noted."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/scim/"):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        try:
            _observe(request, response, time.perf_counter() - started)
        except Exception:  # metrics never change an answer
            logger.exception("Could not count a SCIM request in the metrics")
        return response


def _observe(request, response, seconds: float) -> None:
    note = getattr(request, "scim_note", None)
    principal = getattr(request, "scim", None)
    connection = principal.connection if principal is not None else getattr(note, "connection", None)
    resource = (getattr(note, "resource_type", "") or "none") if note is not None else "none"
    action = str(getattr(note, "action", "") or "Other")
    SCIM_REQUESTS.labels(
        resource=resource,
        action=action,
        status=str(response.status_code),
        connection=str(connection.pk) if connection is not None else "none",
    ).inc()
    SCIM_LATENCY.labels(resource=resource, action=action).observe(seconds)


# Scrape-time collectors ---------------------------------------------------------------------------


class DatabaseCollector:
    """Connection health and the mail outbox, read from the database at each scrape."""

    def collect(self):
        from accounts.connections.models import ProvisioningConnection
        from provisioning_logs.models import ConnectionHealth, HealthState, OutboxMessage, OutboxStatus

        health = GaugeMetricFamily(
            "provisioning_connection_health",
            "1 for the state each provisioning connection is in (healthy, quarantined, disabled), else 0.",
            labels=["connection", "organization", "state", "reason"],
        )
        rows = ConnectionHealth.objects.values_list("connection_id", "state", "reason")
        states = {connection_id: (state, reason) for connection_id, state, reason in rows}
        for connection_id, slug in ProvisioningConnection.objects.values_list("pk", "organization__slug"):
            current, current_reason = states.get(connection_id, (HealthState.HEALTHY, ""))
            for state in HealthState:
                reason = current_reason if state == current else ""
                health.add_metric(
                    [str(connection_id), slug, state.value, reason or ""], 1.0 if state == current else 0.0
                )
        yield health

        outbox = GaugeMetricFamily(
            "provisioning_outbox_messages",
            "Notification e-mails not sent yet: pending (queued) and failing (the mail server refused).",
            labels=["status"],
        )
        for status in (OutboxStatus.PENDING, OutboxStatus.FAILING):
            outbox.add_metric([status.value], OutboxMessage.objects.filter(status=status).count())
        yield outbox


class CeleryQueueCollector:
    """The Celery queue's length in Redis (LLEN of the queue's list), when REDIS_URL is set."""

    def collect(self):
        if not settings.REDIS_URL:
            return
        import redis

        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        depth = GaugeMetricFamily(
            "celery_queue_length", "Tasks waiting in the Celery queue (Redis LLEN).", labels=["queue"]
        )
        try:
            client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
            try:
                depth.add_metric([queue], client.llen(queue))
            finally:
                client.close()
        except redis.RedisError as exc:
            logger.warning("Could not read the Celery queue length from Redis: %s", exc)
            return
        yield depth


def process_registry() -> CollectorRegistry:
    """The request metrics: every process's, added up (multiprocess mode), or this process's."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)
    else:
        for metric in (SCIM_REQUESTS, SCIM_LATENCY, SCIM_RATE_LIMITED, SCIM_RATE_LIMIT_ERRORS):
            registry.register(metric)
    return registry


def scrape_registry() -> CollectorRegistry:
    """A registry for one scrape: the request metrics and the scrape-time collectors."""
    registry = process_registry()
    registry.register(DatabaseCollector())
    registry.register(CeleryQueueCollector())
    return registry


def gunicorn_child_exit(server, worker) -> None:
    """gunicorn's child_exit hook: drop the dead worker's live gauges from the multiprocess files."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(worker.pid)


# The endpoint -------------------------------------------------------------------------------------


def metrics_view(request):
    token, allowed = settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS
    if not token and not allowed:
        raise Http404  # never open by default
    if not _authorized(request, token, allowed):
        if token:
            response = HttpResponse("Bearer token required.\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        return HttpResponse("Forbidden.\n", status=403, content_type="text/plain")
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)


def _authorized(request, token: str, allowed: list[str]) -> bool:
    if token:
        scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode()):
            return True
    if allowed:
        address = client_address(request)
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(network, strict=False) for network in allowed)
    return False


def client_address(request) -> str:
    """The client's address: the real one behind trusted proxies (config.proxies), else the peer's."""
    try:
        from config.proxies import client_address as real_client_address
    except ImportError:  # before the trusted-proxy middleware is merged
        return request.META.get("REMOTE_ADDR", "")
    return real_client_address(request)
