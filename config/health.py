"""
/healthz and /readyz for load balancers and orchestrators.

Answered by a middleware placed before host validation, the HTTPS redirect, sessions and
authentication: a balancer probes a node by its address over plain HTTP, once a second, and gets
JSON without any of that work. No provisioning event is recorded (that happens in SCIM views).

- /healthz: the process serves requests (no database, no Redis): restart it when this fails.
- /readyz: the database answers and has every migration applied, and Redis answers when
  REDIS_URL is set: take the node out of rotation while this answers 503.
"""

import json
from functools import cache

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.http import HttpResponse


HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"


def _answer(checks: dict[str, str]) -> HttpResponse:
    ready = all(state == "ok" for state in checks.values())
    body = {"status": "ok" if ready else "failed", "checks": checks}
    response = HttpResponse(json.dumps(body), status=200 if ready else 503, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


@cache
def _migrations_on_disk() -> dict[tuple[str, str], list]:
    """Every migration this code ships (read once: the files do not change under a running process)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return {key: list(loader.graph.nodes[key].replaces or []) for key in loader.graph.nodes}


def database_check() -> str:
    try:
        # One query: the migrations the database has recorded.
        applied = set(MigrationRecorder(connections[DEFAULT_DB_ALIAS]).applied_migrations())
    except Exception as exc:  # whatever the database says, the node is not ready
        return f"failed: {type(exc).__name__}"
    unapplied = sorted(
        f"{app}.{name}"
        for (app, name), replaces in _migrations_on_disk().items()
        if (app, name) not in applied and not (replaces and all(tuple(r) in applied for r in replaces))
    )
    if unapplied:
        return "failed: unapplied migrations " + ", ".join(unapplied)
    return "ok"


@cache
def _redis(url: str):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def redis_check() -> str:
    try:
        _redis(settings.REDIS_URL).ping()
    except Exception as exc:  # any failure to answer PING means not ready
        return f"failed: {type(exc).__name__}"
    return "ok"


def readiness() -> dict[str, str]:
    checks = {"database": database_check()}
    if settings.REDIS_URL:
        checks["redis"] = redis_check()
    return checks


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ("GET", "HEAD"):
            if request.path == HEALTH_PATH:
                return _answer({"process": "ok"})
            if request.path == READY_PATH:
                return _answer(readiness())
        return self.get_response(request)
