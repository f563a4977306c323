"""A WSGI application that takes one second per request: the buffering worker's limits made visible."""

import time


def application(environ, start_response):
    body = environ["wsgi.input"].read()
    time.sleep(1)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"read %d bytes" % len(body)]
