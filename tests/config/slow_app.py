"""
A WSGI application that takes one second per request (SLOW_APP_SECONDS): the buffering worker's
limits made visible.
"""

import os
import time


SECONDS = float(os.environ.get("SLOW_APP_SECONDS", "1"))


def application(environ, start_response):
    body = environ["wsgi.input"].read()
    time.sleep(SECONDS)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"read %d bytes" % len(body)]
