"""deploy/'s systemd units run exactly the Procfile's commands, with the environment file production needs."""

import configparser
import shlex

import pytest

from tests.config.server_process import ROOT, procfile


pytestmark = pytest.mark.sqlite_pass_only


VENV_BIN = "/srv/work-accounts/.venv/bin/"


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read(ROOT / "deploy" / f"work-accounts-{name}.service")
    return parser


def _words(command: str) -> list[str]:
    return [word.removeprefix(VENV_BIN) for word in shlex.split(command)]


@pytest.mark.parametrize("process", ["web", "worker", "beat"])
def test_each_unit_runs_the_procfile_command(process):
    unit = _unit(process)

    assert _words(unit["Service"]["ExecStart"]) == _words(procfile()[process])


@pytest.mark.parametrize("process", ["web", "worker", "beat"])
def test_each_unit_reads_the_environment_file_in_the_project_directory(process):
    service = _unit(process)["Service"]

    assert service["EnvironmentFile"] == "/etc/work-accounts/env"
    assert service["WorkingDirectory"] == "/srv/work-accounts"


def test_the_procfile_release_step_migrates_and_collects_static_files():
    assert procfile()["release"] == (
        "python manage.py migrate --noinput && python manage.py collectstatic --noinput"
    )


def test_the_example_environment_sets_every_variable_production_requires():
    names = {
        line.partition("=")[0]
        for line in (ROOT / "deploy" / "env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }

    assert {
        "DJANGO_SETTINGS_MODULE",
        "DJANGO_SECRET_KEY",
        "DJANGO_ALLOWED_HOSTS",
        "DATABASE_URL",
        "REDIS_URL",
        "PORTAL_BASE_URL",
        "TRUSTED_PROXIES",
    } <= names
