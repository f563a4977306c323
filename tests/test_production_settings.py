"""
Production settings fail closed: every deployment variable required, `manage.py check --deploy`
clean, HSTS preload only when asked for, and every entry point defaulting to them.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest


pytestmark = pytest.mark.sqlite_pass_only


ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "k" * 20 + "production-only-random-looking-value-0123456789",
    "DJANGO_ALLOWED_HOSTS": "portal.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "REDIS_URL": "redis://127.0.0.1:6379/1",
    "PORTAL_BASE_URL": "https://portal.example.com",
}
REQUIRED = ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "PORTAL_BASE_URL"]
_OURS = {*PRODUCTION_ENV, "DJANGO_SECURE_HSTS_PRELOAD", "TRUSTED_PROXIES"}


def _clean_environment() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k not in _OURS}


def _manage(env: dict, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**_clean_environment(), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _setting(env: dict, name: str) -> str:
    result = _manage(env, "shell", "-c", f"from django.conf import settings; print(settings.{name})")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_check_deploy_reports_no_issue_with_production_settings():
    result = _manage(PRODUCTION_ENV, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("variable", REQUIRED)
def test_production_settings_refuse_to_start_without_each_required_variable(variable):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != variable}
    result = _manage(env, "check")
    assert result.returncode != 0
    assert f"Set the environment variable {variable}." in result.stderr


@pytest.mark.parametrize("variable", REQUIRED)
def test_production_settings_refuse_an_empty_required_variable(variable):
    result = _manage({**PRODUCTION_ENV, variable: ""}, "check")
    assert result.returncode != 0
    assert f"Set the environment variable {variable}." in result.stderr


def test_manage_py_defaults_to_production_settings_and_so_refuses_to_start_without_them():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k not in ("DJANGO_SETTINGS_MODULE", "REDIS_URL")}
    result = _manage(env, "check")
    assert result.returncode != 0
    assert "Set the environment variable REDIS_URL." in result.stderr


@pytest.mark.parametrize("module", ["config.wsgi", "config.asgi", "config.celery"])
def test_every_entry_point_defaults_to_production_settings(module):
    # Without DJANGO_SECRET_KEY the production module refuses: the import fails, naming it.
    env = {
        k: v for k, v in PRODUCTION_ENV.items() if k not in ("DJANGO_SETTINGS_MODULE", "DJANGO_SECRET_KEY")
    }
    code = f"import {module}; from django.conf import settings; settings.DEBUG"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**_clean_environment(), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Set the environment variable DJANGO_SECRET_KEY." in result.stderr


def test_production_settings_refuse_the_development_secret_key():
    env = {**PRODUCTION_ENV, "DJANGO_SECRET_KEY": "insecure-development-key-do-not-use-in-production"}
    result = _manage(env, "check")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be a random value" in result.stderr


def test_access_token_lifetime_outside_entras_one_to_six_hours_is_refused():
    result = _manage({**PRODUCTION_ENV, "OAUTH_ACCESS_TOKEN_SECONDS": "60"}, "check")
    assert result.returncode != 0
    assert "OAUTH_ACCESS_TOKEN_SECONDS must be between 3600 and 21600 (1 to 6 hours)." in result.stderr


def test_hsts_preload_is_off_unless_asked_for():
    assert _setting(PRODUCTION_ENV, "SECURE_HSTS_PRELOAD") == "False"
    assert _setting({**PRODUCTION_ENV, "DJANGO_SECURE_HSTS_PRELOAD": "true"}, "SECURE_HSTS_PRELOAD") == "True"


def test_production_settings_have_debug_off_and_the_broker_from_redis_url():
    assert _setting(PRODUCTION_ENV, "DEBUG") == "False"
    assert _setting(PRODUCTION_ENV, "CELERY_TASK_ALWAYS_EAGER") == "False"
    assert _setting(PRODUCTION_ENV, "CELERY_BROKER_URL") == "redis://127.0.0.1:6379/1"


def test_a_malformed_trusted_proxies_value_is_refused():
    result = _manage({**PRODUCTION_ENV, "TRUSTED_PROXIES": "the balancer"}, "check")
    assert result.returncode != 0
    assert "TRUSTED_PROXIES must be a number of proxies or addresses/CIDR networks" in result.stderr


def test_the_embedded_demo_knows_its_own_address_with_the_port():
    embedded = {"DJANGO_SETTINGS_MODULE": "config.settings.embedded"}
    assert _setting(embedded, "PORTAL_BASE_URL") == "http://127.0.0.1:8000"
    assert _setting({**embedded, "PORTAL_BASE_URL": "http://127.0.0.1:8123/"}, "PORTAL_BASE_URL") == (
        "http://127.0.0.1:8123"
    )
