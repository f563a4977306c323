"""The web process's access log line is gunicorn's own, built from only the atoms its format uses."""

import datetime
import runpy
from pathlib import Path

import pytest
from gunicorn import glogging
from gunicorn.config import Config

from config.gunicorn_logging import AccessLogger


pytestmark = pytest.mark.sqlite_pass_only
GUNICORN_CONFIG = runpy.run_path(str(Path(__file__).parents[2] / "config" / "gunicorn.py"))
PRODUCTION_FORMAT = GUNICORN_CONFIG["access_log_format"]


class _Response:
    status = "201 Created"
    sent = 512
    headers = [("Content-Type", "application/scim+json"), ("client-request-id", "req-7")]


class _Request:
    headers = [("HOST", "portal.contoso.com"), ("AUTHORIZATION", "Bearer wat_x")]


ENVIRON = {
    "REQUEST_METHOD": "POST",
    "RAW_URI": '/scim/v2/Users?filter=userName eq "a"',
    "SERVER_PROTOCOL": "HTTP/1.1",
    "PATH_INFO": "/scim/v2/Users",
    "QUERY_STRING": 'filter=userName eq "a"',
    "REMOTE_ADDR": "127.0.0.1",
    "HTTP_USER_AGENT": "Azure Active Directory SCIM Client",
    "portal.client_address": "203.0.113.7",
}
TOOK = datetime.timedelta(seconds=1, microseconds=234_567)


def _line(logger_class, log_format: str) -> str:
    config = Config()
    config.set("accesslog", None)
    config.set("access_log_format", log_format)
    logger = logger_class(config)
    atoms = logger.atoms_wrapper_class(logger.atoms(_Response(), _Request(), ENVIRON, TOOK))
    return log_format % atoms


@pytest.mark.parametrize(
    "log_format",
    [
        PRODUCTION_FORMAT,
        "%(h)s %(m)s %(U)s?%(q)s %(H)s %(s)s %(b)s %(T)s %(D)s %(f)s"
        " %({host}i)s %({x-missing}o)s %({NOPE}e)s",
    ],
    ids=["production", "every-atom-built-here"],
)
def test_the_line_is_the_one_gunicorn_writes(log_format):
    assert _line(AccessLogger, log_format) == _line(glogging.Logger, log_format)


def test_the_production_line_shows_the_client_the_request_the_time_and_the_request_id():
    assert _line(AccessLogger, PRODUCTION_FORMAT) == (
        '203.0.113.7 "POST /scim/v2/Users?filter=userName eq \\"a\\" HTTP/1.1" 201 512 1234ms '
        'request_id=req-7 "Azure Active Directory SCIM Client"'
    )


def test_the_web_process_builds_only_what_its_format_uses_so_no_bearer_token_reaches_the_log_record():
    config = Config()
    config.set("access_log_format", PRODUCTION_FORMAT)
    logger = _logger(GUNICORN_CONFIG["logger_class"], config)

    atoms = logger.atoms(_Response(), _Request(), ENVIRON, TOOK)

    used = ["r", "s", "B", "M", "a", "{client-request-id}o", "{portal.client_address}e"]
    assert sorted(atoms) == sorted(used)
    assert "Bearer wat_x" not in atoms.values()


def _logger(path: str, config):
    import importlib

    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)(config)


def test_a_format_with_an_atom_not_built_here_gets_gunicorns_atoms():
    log_format = "%(t)s %(u)s %(p)s %(L)s"

    config = Config()
    config.set("access_log_format", log_format)
    atoms = AccessLogger(config).atoms(_Response(), _Request(), ENVIRON, TOOK)

    assert {"t", "u", "p", "L", "{host}i"} <= set(atoms)
