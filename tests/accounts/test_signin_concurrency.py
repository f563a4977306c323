"""
Sign-in throttling under a real multi-worker server (gunicorn with tests/live_server.WORKERS
workers, its own database): guesses sent in parallel for one userName lock it at exactly the
limit, however the workers interleave them; no more than the limit ever reach the password check.
"""

import http.cookiejar
import re
import threading
import urllib.parse
import urllib.request

import pytest

from accounts.services.signin import WRONG_CREDENTIALS
from tests.live_server import WORKERS, live_server


pytestmark = pytest.mark.live_server_process
ADMIN = ("admin@live.test", "a-long-enough-passphrase-42")
LIMIT = 5  # SIGNIN_MAX_FAILURES_PER_USERNAME's default
GUESSES = 12
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Browser:
    """One visitor: its own cookies (session, CSRF), as a browser tab would have."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.base_url + path, timeout=30) as response:
            return response.read().decode()

    def post(self, path: str, form: dict) -> str:
        token = CSRF_FIELD.search(self.get(path)).group(1)
        data = urllib.parse.urlencode({**form, "csrfmiddlewaretoken": token}).encode()
        with self.opener.open(self.base_url + path, data=data, timeout=30) as response:
            return response.read().decode()


def test_parallel_wrong_passwords_lock_the_username_at_exactly_the_limit(tmp_path):
    assert WORKERS >= 3
    with live_server(tmp_path, admin=ADMIN) as (base_url, _):
        barrier = threading.Barrier(GUESSES)
        pages = [None] * GUESSES

        def guess(index):
            visitor = Browser(base_url)
            visitor.post("/signin/", {"username": ADMIN[0]})
            token = CSRF_FIELD.search(visitor.get("/signin/password/")).group(1)
            data = urllib.parse.urlencode({"password": f"wrong-guess-{index}", "csrfmiddlewaretoken": token})
            barrier.wait()  # every guess sent at once
            with visitor.opener.open(
                f"{base_url}/signin/password/", data=data.encode(), timeout=60
            ) as answer:
                pages[index] = answer.read().decode()

        threads = [threading.Thread(target=guess, args=(index,)) for index in range(GUESSES)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        right = Browser(base_url)
        right.post("/signin/", {"username": ADMIN[0]})
        after = right.post("/signin/password/", {"password": ADMIN[1]})

    wrong = sum(WRONG_CREDENTIALS in page for page in pages)
    throttled = sum("Too many failed sign-in attempts." in page for page in pages)
    assert (wrong, throttled) == (LIMIT, GUESSES - LIMIT)
    assert "Too many failed sign-in attempts. Wait 15 minutes and try again." in after
