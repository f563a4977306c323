"""
Headless Chromium (Debian's /usr/bin/chromium, never a downloaded browser) driven by Playwright's
sync API, against pytest-django's in-process `live_server`.
"""

import os
from pathlib import Path

import pytest


# Playwright's sync API runs an asyncio event loop in the test thread. Django then treats ORM calls
# made from that thread (test data, assertions) as if they came from async code and raises
# SynchronousOnlyOperation. Nothing here is actually concurrent with the loop: Playwright only runs
# it while a Playwright call blocks, so the check is a false alarm for these tests.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-extensions",
]
DEFAULT_TIMEOUT_MS = 10_000
BROWSER_TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    # This hook sees the whole session's items: mark only the ones under tests/browser.
    # tests/run_suite.py runs them once: in the PostgreSQL pass when there is one.
    elsewhere = os.environ.get("BROWSER_TESTS_IN_POSTGRES_PASS") == "1"
    once = pytest.mark.skip(reason="the pages are the same on either database: run in the PostgreSQL pass")
    for item in items:
        if BROWSER_TESTS in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)
            if elsewhere:
                item.add_marker(once)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        if _in_ci():
            pytest.fail(
                f"{CHROMIUM} is missing: CI must run the browser tests. Install Debian's chromium "
                "(apt-get install chromium) in the CI image.",
                pytrace=False,
            )
        pytest.skip(f"{CHROMIUM} is missing: run `make test`, which installs Debian's chromium")

    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser):
    """A page in a fresh browser context (no cookies shared between tests)."""
    context = browser.new_context()
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        page = context.new_page()
        page.set_default_timeout(DEFAULT_TIMEOUT_MS)
        yield page
    finally:
        context.close()


def sign_in(page, username: str, password: str) -> None:
    """Our sign-in page: the username, Continue, then the password (page already on step 1)."""
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter password")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
