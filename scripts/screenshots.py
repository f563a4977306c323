"""
Screenshots of the portal's main pages at 1440 px and 390 px, for looking before and after a
change (`make screenshots`; not run in CI, the PNGs are not committed).

    .venv/bin/python scripts/screenshots.py [--out screenshots] [--port 8590]

Steps: a throw-away SQLite database -> migrate -> seed_demo (contoso, its admin, a SCIM token) ->
Django's server on 127.0.0.1:PORT (as make run, with its static files) -> Entra-shaped SCIM
requests over HTTP (accounts with a manager and e-mails, a group and its members, a disable, a
conflict) -> Debian's Chromium signs in as the demo admin, then as a provisioned employee, and
writes <page>-<width>.png -> stops the server.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
WIDTHS = {1440: 900, 390: 844}
SCIM_JSON = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
EMPLOYEE = "megan.bowen@contoso.example"
EMPLOYEE_PASSWORD = "screenshots-passphrase-42"


def scim(base: str, token: str, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{base}/scim/v2{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON, "Accept": SCIM_JSON},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
    except urllib.error.HTTPError as error:
        payload = error.read()
    return json.loads(payload) if payload else {}


def user(user_name: str, display_name: str, **extra) -> dict:
    given, family = display_name.split(" ", 1)
    return {
        "schemas": [USER],
        "userName": user_name,
        "externalId": f"ext-{user_name.split('@')[0]}",
        "active": True,
        "displayName": display_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        **extra,
    }


def seed_activity(base: str, token: str) -> dict:
    """What Entra does in a first cycle, and a little trouble, so that the log has something to show."""
    people = [
        ("adele.vance@contoso.example", "Adele Vance", {"title": "Retail Manager", "department": "Retail"}),
        ("alex.wilber@contoso.example", "Alex Wilber", {"title": "Marketing Assistant"}),
        ("diego.siciliani@contoso.example", "Diego Siciliani", {"title": "HR Manager"}),
        (EMPLOYEE, "Megan Bowen", {"title": "Auditor", "password": EMPLOYEE_PASSWORD}),
        (
            "a.very.long.user.name.of.the.finance.department@contoso-international.example",
            "Johanna Lorenz-Wilhelmina",
            {},
        ),
    ]
    ids = {}
    for user_name, name, extra in people:
        scim(base, token, "GET", f'/Users?filter=userName+eq+"{user_name}"')
        ids[user_name] = scim(base, token, "POST", "/Users", user(user_name, name, **extra))["id"]
    manager = {
        "op": "Add",
        "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "value": ids["adele.vance@contoso.example"],
    }
    for user_name in ("alex.wilber@contoso.example", EMPLOYEE):
        scim(
            base, token, "PATCH", f"/Users/{ids[user_name]}", {"schemas": [PATCH_OP], "Operations": [manager]}
        )
    group = scim(
        base,
        token,
        "POST",
        "/Groups",
        {"schemas": [GROUP], "displayName": "Retail", "externalId": "grp-retail"},
    )
    members = [{"value": ids[name]} for name in list(ids)[:4]]
    scim(
        base,
        token,
        "PATCH",
        f"/Groups/{group['id']}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "Add", "path": "members", "value": members}]},
    )
    scim(
        base,
        token,
        "PATCH",
        f"/Groups/{group['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "Remove", "path": f'members[value eq "{ids["alex.wilber@contoso.example"]}"]'}
            ],
        },
    )
    emails = {
        "op": "replace",
        "path": "emails",
        "value": [
            {"value": "diego.siciliani@contoso.example", "type": "work", "primary": True},
            {"value": "diego@home.example", "type": "home"},
        ],
    }
    scim(
        base,
        token,
        "PATCH",
        f"/Users/{ids['diego.siciliani@contoso.example']}",
        {"schemas": [PATCH_OP], "Operations": [emails]},
    )
    disable = {"op": "Replace", "path": "active", "value": "False"}
    scim(
        base,
        token,
        "PATCH",
        f"/Users/{ids['alex.wilber@contoso.example']}",
        {"schemas": [PATCH_OP], "Operations": [disable]},
    )
    scim(base, token, "POST", "/Users", user("adele.vance@contoso.example", "Adele Vance"))  # 409
    return {"users": ids, "group": group["id"]}


def wait_until_up(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited; see its log above")
        try:
            urllib.request.urlopen(base + "/signin/", timeout=1)
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the server did not start in 60 s")


def shoot(page, base: str, out: Path, name: str, path: str) -> None:
    page.goto(base + path)
    page.wait_for_load_state("networkidle")
    for width, height in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(out / f"{name}-{width}.png"), full_page=True)
        print(f"  {name}-{width}.png", flush=True)


def sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(base + "/signin/")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--out", default=str(ROOT / "screenshots"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SCREENSHOT_PORT", "8590")))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{args.port}"

    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp}/screenshots.sqlite3",
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            # As `make run` serves the demo: Django's server with its static files.
            "DJANGO_DEBUG": "true",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "PORTAL_BASE_URL": base,
        }
        env.pop("REDIS_URL", None)  # mail tasks run in-process; no broker is needed
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        seeded = subprocess.run(
            [*manage, "seed_demo", "--base-url", base],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        admin, password = re.search(r"Admin sign-in: \S+ as (\S+) / (\S+)", seeded).groups()
        token = re.search(r"^\s+(wat_\S+)$", seeded, re.M).group(1)
        log = open(Path(tmp) / "server.log", "w+b")  # noqa: SIM115 (closed below)
        server = subprocess.Popen(
            [*manage, "runserver", f"127.0.0.1:{args.port}", "--noreload"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(base, server)
            demo = seed_activity(base, token)
            from playwright.sync_api import sync_playwright

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
                )
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                shoot(page, base, out, "signin", "/signin/")
                sign_in(page, base, admin, password)
                logs = "/admin/provisioning_logs/provisioningevent/"
                group_page = f"/admin/accounts/workgroup/{demo['group']}/change/"
                account = (
                    f"/admin/accounts/workaccount/{demo['users']['diego.siciliani@contoso.example']}/change/"
                )
                disabled = (
                    f"/admin/accounts/workaccount/{demo['users']['alex.wilber@contoso.example']}/change/"
                )
                for name, path in (
                    ("admin-index", "/admin/"),
                    ("dashboard", logs + "dashboard/"),
                    ("logs", logs),
                    ("logs-search", logs + "?q=adele"),
                    ("accounts", "/admin/accounts/workaccount/"),
                    ("account", account),
                    ("account-disabled", disabled),
                    ("groups", "/admin/accounts/workgroup/"),
                    ("group", group_page),
                    ("connections", "/admin/accounts/provisioningconnection/"),
                    ("connect", "/admin/accounts/provisioningconnection/add/"),
                ):
                    shoot(page, base, out, name, path)
                page.goto(base + logs)
                page.locator("th.field-time a").first.click()
                shoot(page, base, out, "event", page.url.removeprefix(base))
                page.set_viewport_size({"width": 1440, "height": 900})
                page.get_by_role("button", name="Log out").click()
                shoot(page, base, out, "signed-out", "/signed-out/")
                sign_in(page, base, EMPLOYEE, EMPLOYEE_PASSWORD)
                shoot(page, base, out, "member", "/me/")
                browser.close()
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()
    print(f"wrote the screenshots to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
