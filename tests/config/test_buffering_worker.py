"""
config/gunicorn_worker.py under config/gunicorn.py, in a real gunicorn (serving a one-second WSGI
application): overload refused at once with 503 and Retry-After (SCIM JSON under /scim/), a trickling
client cut off with 408, an overlong request line refused with 414, a 16 KiB one served, no
request lost on a kept-alive connection when a worker is recycled, and a kept-alive connection
closed after GUNICORN_KEEPALIVE_REQUESTS answers.
"""

import contextlib
import http.client
import json
import socket
import threading
import time

import pytest

from benchmarks.slow_clients import normal_requests
from tests.config.server_process import BIN, Server, base_environment, free_port


pytestmark = [pytest.mark.live_server_process, pytest.mark.sqlite_pass_only]


def _slow_app_server(directory, **settings: str) -> Server:
    """The web command's gunicorn configuration serving tests/config/slow_app.py on a free port."""
    port = free_port()
    env = base_environment(PORT=str(port), PYTHONPATH="tests/config", **settings)
    return Server(
        f"{BIN}/gunicorn slow_app:application -c config/gunicorn.py", env, port, directory / "web.log"
    )


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    server = _slow_app_server(
        tmp_path_factory.mktemp("buffering-worker"),
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="1",
        GUNICORN_MAX_QUEUED="2",
        GUNICORN_REQUEST_READ_TIMEOUT="2",
    )
    yield server
    server.stop()


def _raw(port: int, data: bytes, timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_requests_beyond_the_queue_are_refused_at_once_with_503_and_retry_after(worker):
    report = normal_requests("127.0.0.1", worker.port, 8, path="/scim/v2/Users", deadline=20)

    refused = report.refused
    assert len(report.answered) >= 2
    assert refused
    assert all(outcome.retry_after == "1" for outcome in refused)
    assert max(outcome.seconds for outcome in refused) < min(outcome.seconds for outcome in report.answered)


def test_a_503_under_scim_is_a_scim_error(worker):
    # Fill the thread and the queue with slow requests, then ask once more.
    busy = [
        threading.Thread(
            target=_raw, args=(worker.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        )
        for _ in range(3)
    ]
    for thread in busy:
        thread.start()
    time.sleep(0.3)

    answer = _raw(worker.port, b"GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\n\r\n")
    for thread in busy:
        thread.join()

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"Content-Type: application/scim+json" in head
    assert b"Retry-After: 1" in head
    assert json.loads(body) == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "503",
        "detail": "The server is busy; retry shortly.",
    }


def test_a_client_trickling_its_body_is_cut_off_with_408(worker):
    with socket.create_connection(("127.0.0.1", worker.port), timeout=10) as sock:
        sock.sendall(b"POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
        started = time.monotonic()
        answer = b""
        while not answer:
            sock.sendall(b"x")
            time.sleep(0.2)
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                answer = sock.recv(65536)
            sock.setblocking(True)

    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert time.monotonic() - started < 5


def test_a_request_line_over_64_kib_is_refused_with_414(worker):
    answer = _raw(worker.port, b"GET /scim/v2/Users?filter=" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")

    assert answer.startswith(b"HTTP/1.1 414 URI Too Long\r\n")


def test_a_16_kib_request_line_and_a_body_are_served(worker):
    answer = _raw(
        worker.port,
        b"POST /?q="
        + b"a" * 16384
        + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    )

    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nread 5 bytes\r\n" in answer


def test_workers_recycled_under_keep_alive_load_answer_every_request_they_were_sent(tmp_path):
    # Entra reuses its connections; a worker recycled (GUNICORN_MAX_REQUESTS) or restarted must
    # answer what already arrived on them, with "Connection: close", not drop it: a POST whose
    # connection closes without an answer cannot be safely sent again.
    server = _slow_app_server(
        tmp_path,
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS="2",
        GUNICORN_MAX_REQUESTS="40",
        GUNICORN_MAX_REQUESTS_JITTER="0",
        SLOW_APP_SECONDS="0.002",
    )
    lost, answered = [], []

    def client(number: int):
        connection = None
        for i in range(60):
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            body = f"client {number} request {i}".encode()
            try:
                connection.request(
                    "POST", "/scim/v2/Users", body=body, headers={"Content-Type": "text/plain"}
                )
                response = connection.getresponse()
                answered.append(response.read())
            except (http.client.HTTPException, OSError) as exc:
                lost.append(repr(exc))
                response = None
            if response is None or response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = None

    try:
        clients = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
        recycled = server.log().count("Autorestarting worker")
    finally:
        server.stop()

    assert recycled >= 4
    assert lost == []
    assert len(answered) == 8 * 60


def test_a_kept_alive_connection_is_closed_after_its_request_limit(tmp_path):
    # GUNICORN_KEEPALIVE_REQUESTS: the client reconnects, so connections spread again over the
    # processes (a recycled process's kept-alive clients would otherwise all stay on the others).
    server = _slow_app_server(
        tmp_path, WEB_CONCURRENCY="1", GUNICORN_KEEPALIVE_REQUESTS="3", SLOW_APP_SECONDS="0"
    )
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            stream = sock.makefile("rb")
            said = []
            for _ in range(3):
                sock.sendall(b"GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\n\r\n")
                status = int(stream.readline().split()[1])
                headers = dict(
                    line.decode().rstrip("\r\n").split(": ", 1) for line in iter(stream.readline, b"\r\n")
                )
                _skip_body(stream, headers)
                said.append((status, headers.get("Connection")))
            closed_by_server = stream.read(1) == b""  # EOF: the server closed its end
    finally:
        server.stop()

    assert said == [(200, "keep-alive"), (200, "keep-alive"), (200, "close")]
    assert closed_by_server


def _skip_body(stream, headers: dict) -> None:
    if "Content-Length" in headers:
        stream.read(int(headers["Content-Length"]))
        return
    while size := int(stream.readline().strip(), 16):  # chunked (the test app sets no length)
        stream.read(size + 2)
    stream.readline()
