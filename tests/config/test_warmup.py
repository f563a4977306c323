"""config.warmup: the web process imports its views and compiles its URL patterns before it forks."""

import json
import os
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]

# What a process that has only imported config.wsgi (gunicorn's arbiter with preload_app) holds.
PROBE = """
import json, sys
import config.wsgi
from django.db import connections
from django.urls import get_resolver
resolver = get_resolver()
scim = next(p for p in resolver.url_patterns if str(p.pattern) == "scim/v2/")
print(json.dumps({
    "views": sorted(m for m in ("scim.views.users", "scim.views.groups", "django.contrib.admin.sites",
                                "rest_framework.views", "oauth2_provider.views") if m in sys.modules),
    "patterns_loaded": "url_patterns" in resolver.__dict__,
    "scim_patterns_compiled": all("_regex_dict" in vars(p.pattern) for p in scim.url_patterns),
    "reverse_populated": bool(resolver._populated),
    "database_connected": connections["default"].connection is not None,
}))
"""


def _probe() -> dict:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings.test")
    completed = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_importing_the_wsgi_application_imports_every_view_and_compiles_the_url_patterns():
    probe = _probe()

    assert probe["views"] == [
        "django.contrib.admin.sites",
        "oauth2_provider.views",
        "rest_framework.views",
        "scim.views.groups",
        "scim.views.users",
    ]
    assert (probe["patterns_loaded"], probe["scim_patterns_compiled"], probe["reverse_populated"]) == (
        True,
        True,
        True,
    )


def test_warming_up_opens_no_database_connection_a_fork_would_share():
    assert _probe()["database_connected"] is False
