"""
A gunicorn worker that reads each whole request on its event loop before a thread runs it.

gunicorn's sync worker gives a process to every open connection, so a few hundred idle connections
leave none for real requests; its gthread worker hands a new connection to a thread straight away,
where the thread waits for the client (5 s for the first byte, then as long as the client trickles),
so idle and slow clients starve the thread pool too (benchmarks/slow_clients.py measures both).

This worker is gthread with one change: a connection's bytes are read without blocking by the main
loop (which already polls kept-alive connections) until the request line, headers and body are all
there, and only then does a thread parse and run it from that buffer. Idle connections cost a file
descriptor, trickling ones are cut off with 408 after GUNICORN_REQUEST_READ_TIMEOUT, and when more
requests wait for a thread than GUNICORN_MAX_QUEUED, a new one is refused at once with 503 and
Retry-After instead of waiting without bound. TLS ends at the load balancer (README "Deploying");
with gunicorn's own TLS the worker behaves as gthread does.
"""

import contextlib
import errno
import json
import os
import socket
import time
from functools import partial
from selectors import EVENT_READ

from gunicorn.workers.gthread import STOP_KEEPALIVE_LINGER, TConn, ThreadWorker


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


READ_CHUNK = 64 * 1024
# How long an answered-with-an-error connection is drained before it is closed: closing a socket
# with unread input makes the kernel send a reset, which can destroy the answer in flight.
LINGER_SECONDS = 2.0
RETRY_AFTER_SECONDS = 1

_INCOMPLETE = object()
_READY = object()


def _error(status: int, reason: str, path: bytes, detail: str, extra: str = "") -> bytes:
    if path.startswith(b"/scim/"):
        # RFC 7644 §3.12: SCIM clients get the SCIM error shape, whoever answers.
        body = json.dumps(
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": str(status),
                "detail": detail,
            }
        ).encode()
        content_type = "application/scim+json"
    else:
        body = (detail + "\n").encode()
        content_type = "text/plain; charset=utf-8"
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        f"{extra}Connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class BufferingWorker(ThreadWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read_timeout = _int("GUNICORN_REQUEST_READ_TIMEOUT", 15)
        self.max_request_line = _int("GUNICORN_MAX_REQUEST_LINE", 64 * 1024)
        self.max_head = (
            self.max_request_line + self.cfg.limit_request_fields * self.cfg.limit_request_field_size
        )
        self.max_buffered_body = _int("GUNICORN_MAX_BUFFERED_BODY", 4 * 1024 * 1024)
        self.max_queued = _int("GUNICORN_MAX_QUEUED", 32 * self.cfg.threads)
        self.keepalive_requests = _int("GUNICORN_KEEPALIVE_REQUESTS", 100)
        # Connections being read (or drained after an error answer) by the main loop.
        self.reading: set[TConn] = set()
        # Requests handed to the thread pool and not finished yet (main thread only).
        self.queued = 0
        # When a stopping worker closes the connections that are still idle (set once it stops).
        self.idle_deadline: float | None = None

    # Connections reach the thread pool only with a whole request in hand -----------------------

    def accept(self, listener):
        if self.cfg.is_ssl:
            return super().accept(listener)
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return
            raise
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())
        self._read(conn)

    def on_client_socket_readable(self, conn, client):
        # A kept-alive connection starts its next request.
        if self.cfg.is_ssl:
            return super().on_client_socket_readable(conn, client)
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._read(conn)
        # Its request is here already (the poll said so): read it now, not one poll later, when a
        # stopping worker would have taken the connection for an idle one.
        self._on_readable(conn, conn.sock)

    def _read(self, conn):
        conn.sock.setblocking(False)
        conn.buffered = bytearray()
        conn.started = False
        conn.draining = False
        conn.continued = False
        # Until its first byte, a connection may stay idle as long as a kept-alive one.
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.reading.add(conn)
        self.poller.register(conn.sock, EVENT_READ, partial(self._on_readable, conn))

    def _on_readable(self, conn, _sock):
        try:
            data = conn.sock.recv(READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close(conn)
            return
        if conn.draining:
            return
        if not conn.started:
            conn.started = True
            conn.timeout = time.monotonic() + self.read_timeout
        conn.buffered += data
        verdict = self._verdict(conn)
        if verdict is _INCOMPLETE:
            return
        if verdict is not _READY:
            self._refuse(conn, verdict)
        elif self.queued >= self.max_queued:
            self._refuse(
                conn,
                _error(
                    503,
                    "Service Unavailable",
                    self._path(conn),
                    "The server is busy; retry shortly.",
                    f"Retry-After: {RETRY_AFTER_SECONDS}\r\n",
                ),
            )
        else:
            self.reading.discard(conn)
            self.poller.unregister(conn.sock)
            self.enqueue_req(conn)

    def _verdict(self, conn):
        buf = conn.buffered
        line_end = buf.find(b"\r\n")
        if line_end == -1 and len(buf) > self.max_request_line or line_end > self.max_request_line:
            return _error(414, "URI Too Long", self._path(conn), "The request line is too long.")
        head_end = buf.find(b"\r\n\r\n")
        if head_end == -1:
            if len(buf) > self.max_head:
                return _error(
                    431, "Request Header Fields Too Large", self._path(conn), "The headers are too large."
                )
            return _INCOMPLETE
        length, chunked, expects_continue = None, False, False
        for line in bytes(buf[line_end + 2 : head_end]).split(b"\r\n"):
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    return _READY  # gunicorn's parser answers the malformed request
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value
            elif name == b"expect":
                expects_continue = value == b"100-continue"
        body = len(buf) - head_end - 4
        if chunked:
            complete = buf.endswith(b"0\r\n\r\n") or body > self.max_buffered_body
        elif length is None:
            complete = True
        else:
            # A body larger than Django accepts is not read here: Django refuses it (413) unread.
            complete = body >= length or length > self.max_buffered_body
        if not complete and expects_continue and not conn.continued and body == 0:
            # The client waits for this before sending its body (RFC 9110 §10.1.1); gunicorn's own
            # "100 Continue" later is a second informational answer, which clients ignore.
            conn.continued = True
            self._send(conn, b"HTTP/1.1 100 Continue\r\n\r\n")
        return _READY if complete else _INCOMPLETE

    @staticmethod
    def _path(conn) -> bytes:
        parts = bytes(conn.buffered[:1024]).split(b" ", 2)
        return parts[1] if len(parts) > 1 else b""

    def _send(self, conn, data: bytes) -> None:
        with contextlib.suppress(OSError):
            conn.sock.send(data)

    def _refuse(self, conn, response: bytes) -> None:
        self._send(conn, response)
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(conn)
            return
        conn.draining = True
        conn.timeout = time.monotonic() + LINGER_SECONDS

    def _close(self, conn) -> None:
        self.reading.discard(conn)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self):
        super().murder_pending()
        now = time.monotonic()
        if not self.alive and self.idle_deadline is None:
            # Stopping (recycled, restarted, shut down): as gunicorn does for kept-alive connections,
            # an idle one stays open STOP_KEEPALIVE_LINGER at most, and a request arriving on it
            # meanwhile is answered with "Connection: close". Closing it at once lost a request the
            # client had just sent (a POST it cannot know whether to resend).
            self.idle_deadline = now + STOP_KEEPALIVE_LINGER
        for conn in list(self.reading):
            if conn.draining or not conn.started:
                if self.idle_deadline is not None and not conn.started:
                    conn.timeout = min(conn.timeout, self.idle_deadline)
                if now >= conn.timeout:
                    self._close(conn)
            elif now >= conn.timeout:
                self._refuse(
                    conn,
                    _error(408, "Request Timeout", self._path(conn), "The request took too long to arrive."),
                )

    # The thread parses the request from what the main loop read --------------------------------

    def enqueue_req(self, conn):
        self.queued += 1
        super().enqueue_req(conn)

    def finish_request(self, conn, fs):
        self.queued -= 1
        super().finish_request(conn, fs)

    def handle_request(self, req, conn):
        # After GUNICORN_KEEPALIVE_REQUESTS answers on one connection, the last says "Connection:
        # close" (nginx's keepalive_requests): the client reconnects and its connection lands on
        # whichever process accepts first. Without it a kept-alive client never moves, so after a
        # process is recycled every connection it had stays on the others, and the new process
        # idles: with 2 processes, half the throughput until the next recycle (issue 15).
        conn.answered = getattr(conn, "answered", 0) + 1
        if self.keepalive_requests and conn.answered >= self.keepalive_requests:
            req.must_close = True
        return super().handle_request(req, conn)

    def handle(self, conn):
        buffered = getattr(conn, "buffered", None)
        if buffered:
            conn.buffered = None
            conn.data_ready = True
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader.unread(bytes(buffered))
        return super().handle(conn)
