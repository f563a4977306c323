"""
Run the whole test suite on SQLite, then again on PostgreSQL.

PostgreSQL comes from DATABASE_URL when it names one, else the local server at
postgres://postgres@127.0.0.1:5432/work_accounts. In CI (CI=true) an unreachable PostgreSQL fails
the run; on a developer machine without one, that pass is skipped with a warning. The browser
tests run in one pass: the PostgreSQL one when it runs, else the SQLite one.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/work_accounts"
BROWSER_TESTS_IN_POSTGRES_PASS = "BROWSER_TESTS_IN_POSTGRES_PASS"


def postgres_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else LOCAL_POSTGRES


def postgres_reachable(url: str) -> bool:
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(url)
    try:
        psycopg.connect(
            host=config["HOST"] or "127.0.0.1",
            port=config["PORT"] or 5432,
            user=config["USER"] or "postgres",
            password=config["PASSWORD"] or None,
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL at {config['HOST']}:{config['PORT']} is not reachable: {exc}", file=sys.stderr)
        return False
    return True


def run_pytest(label: str, env: dict, extra: list[str]) -> int:
    print(f"\n=== test suite on {label} ===", flush=True)
    command = [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadfile", *extra]
    return subprocess.call(command, cwd=ROOT, env=env)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args, extra = parser.parse_known_args()
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    status = 0

    url = postgres_url()
    postgres_pass = args.only in (None, "postgres") and postgres_reachable(url)

    if args.only in (None, "sqlite"):
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        if postgres_pass:
            # The pages are the same on either database: the browser tests run once, on
            # PostgreSQL (production's), which saves CI about a minute (tests/browser/conftest.py).
            env[BROWSER_TESTS_IN_POSTGRES_PASS] = "1"
        status |= run_pytest("SQLite", env, extra)

    if args.only in (None, "postgres"):
        if postgres_pass:
            status |= run_pytest("PostgreSQL", {**os.environ, "DATABASE_URL": url}, extra)
        elif in_ci or args.only == "postgres":
            print("FAILED: the PostgreSQL pass cannot run without PostgreSQL.", file=sys.stderr)
            status |= 1
        else:
            print("WARNING: PostgreSQL pass skipped (no server); CI runs it.", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
