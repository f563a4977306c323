"""
A real server process for end-to-end tests: its own database (a temporary SQLite file, or a
throwaway PostgreSQL database when DATABASE_URL names PostgreSQL), migrated and seeded through
the operators' management commands, served by gunicorn on a free loopback port.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
# Several processes, so that tests see what several workers do at once (each its own caches).
WORKERS = 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _database(tmp_path: Path):
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{tmp_path / 'live.sqlite3'}"
        return
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(url)
    name = f"wa_live_{uuid.uuid4().hex[:12]}"
    admin = dict(
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
        user=config["USER"] or "postgres",
        password=config["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    with psycopg.connect(**admin) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(**admin) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def live_server(
    tmp_path: Path,
    organization_slug: str = "livetest",
    admin: tuple[str, str] | None = None,
    environment: dict | None = None,
):
    """
    Yield (base_url, bearer_token) of a running server; stop it and drop its data after. `admin`:
    (email, password) of an organization admin created through `manage.py create_admin`;
    `environment`: more variables for the server and its management commands.
    """
    with _database(tmp_path) as database_url:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DJANGO_DEBUG": "false",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            **(environment or {}),
        }

        def manage(*args) -> str:
            return subprocess.run(
                [sys.executable, "manage.py", *args],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout

        manage("migrate", "--noinput")
        manage("create_org", organization_slug, "--name", "Live test")
        token = manage("create_scim_token", organization_slug).strip()
        if admin is not None:
            manage("create_admin", organization_slug, admin[0], "--password", admin[1])
        port = _free_port()
        # The server's log goes to a file: an unread pipe fills up and blocks the server.
        log = open(tmp_path / "server.log", "w+b")  # noqa: SIM115 (closed in finally)
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "-b",
                f"127.0.0.1:{port}",
                "-w",
                str(WORKERS),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base_url, server, log)
            yield base_url, token
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()


def _wait_until_up(base_url: str, server: subprocess.Popen, log, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"server exited: {log.read().decode()[-2000:]}")
        try:
            urllib.request.urlopen(base_url + "/scim/v2/ServiceProviderConfig", timeout=5)
        except urllib.error.HTTPError:
            return  # 401 without a token: it is serving
        except OSError:
            time.sleep(0.2)
            continue
        return
    raise RuntimeError("server did not start in time")
