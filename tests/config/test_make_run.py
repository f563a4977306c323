"""
`make run` serves the production code path: its own recipe lines from the Makefile (migrate,
collectstatic, seed_demo, then gunicorn with config/gunicorn.py and embedded settings), run as
written on a free port. DEBUG is off, static files are served, the sign-in page renders.
"""

import os
import re
import stat
import sys

import pytest

from tests.config.server_process import BIN, Server, base_environment, free_port, makefile_recipe, run


pytestmark = [pytest.mark.live_server_process, pytest.mark.sqlite_pass_only]


@pytest.fixture(scope="module")
def make_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("make-run")
    port = free_port()
    recipe = makefile_recipe(
        "run",
        {
            "EMBEDDED": "DJANGO_SETTINGS_MODULE=config.settings.embedded",
            "BIN": str(BIN),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "WEB_CONCURRENCY": "2",
        },
    )
    # Only the data and the generated key go elsewhere: this test must not touch the work tree's.
    env = base_environment(
        DATABASE_URL=f"sqlite:///{tmp / 'embedded.sqlite3'}",
        DJANGO_STATIC_ROOT=str(tmp / "static"),
        EMBEDDED_SECRET_KEY_FILE=str(tmp / "secret-key"),
    )
    env.pop("REDIS_URL", None)  # the embedded default: tasks run eagerly
    *setup, serve = recipe
    assert "gunicorn config.wsgi:application -c config/gunicorn.py" in serve
    for command in setup:
        run(command, env)
    server = Server(serve, env, port, tmp / "web.log")
    server.tmp = tmp
    server.env = env
    yield server
    server.stop()


def test_make_run_serves_the_sign_in_page(make_run):
    response = make_run.get("/signin/", {"Host": "127.0.0.1"})

    assert response.status == 200
    assert 'name="username"' in response.body.decode()


def test_make_run_serves_static_files_under_hashed_names(make_run):
    page = make_run.get("/signin/", {"Host": "127.0.0.1"}).body.decode()
    href = re.search(r'<link rel="stylesheet" href="([^"]+)"', page).group(1)

    response = make_run.get(href, {"Host": "127.0.0.1"})

    assert re.fullmatch(r"/static/.+\.[0-9a-f]{12}\.css", href)
    assert response.status == 200
    assert response.getheader("Cache-Control") == "max-age=315360000, public, immutable"


def test_make_run_answers_a_missing_page_without_debug_information(make_run):
    response = make_run.get("/no-such-page/", {"Host": "127.0.0.1"})

    assert response.status == 404
    assert "URLconf" not in response.body.decode()
    assert "DEBUG" not in response.body.decode()


def test_make_run_answers_a_bad_host_without_a_traceback(make_run):
    response = make_run.get("/signin/", {"Host": "evil.example.net"})

    assert response.status == 400
    assert "DisallowedHost" not in response.body.decode()
    assert "Traceback" not in response.body.decode()


def test_the_embedded_secret_key_is_generated_once_and_kept_private(make_run):
    key_file = make_run.tmp / "secret-key"
    printed = run(
        f"DJANGO_SETTINGS_MODULE=config.settings.embedded {sys.executable} manage.py shell -c "
        '"from django.conf import settings; print(settings.SECRET_KEY)"',
        make_run.env,
    )

    assert printed.strip().splitlines()[-1] == key_file.read_text().strip()
    assert len(key_file.read_text().strip()) >= 50
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
