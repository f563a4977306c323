"""Production settings: secrets required, and `manage.py check --deploy` clean."""

import os
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "k" * 20 + "production-only-random-looking-value-0123456789",
    "DJANGO_ALLOWED_HOSTS": "portal.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
}


def _manage(env: dict, *args) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_reports_no_issue_with_production_settings():
    result = _manage(PRODUCTION_ENV, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}
    result = _manage(env, "check")
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
