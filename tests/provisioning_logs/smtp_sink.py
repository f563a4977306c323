"""
A real SMTP server for tests: aiosmtpd on 127.0.0.1 and a free port, in a thread of the test
process. It records the messages it accepted (a thread-safe list) and can be told to refuse DATA
(451 / 554) or to wait before answering DATA.

A message counts as received only once the sink answers 250. When the client goes away while the
sink is still waiting to answer (the client process was killed), aiosmtpd cancels the handler and
the message is not recorded: the transaction was never accepted, as with a real mail server.
"""

import asyncio
import email
import socket
import threading
import time
from dataclasses import dataclass, field
from email import policy

from aiosmtpd.controller import Controller


TRY_AGAIN_LATER = "451 4.3.0 try again later"
REFUSED = "554 5.7.1 message refused"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    subject: str
    outbox_id: str  # the X-Work-Accounts-Outbox-Id header, "" when absent
    text: str
    html: str
    raw: bytes = field(repr=False)


def _parsed(mail_from: str, rcpt_tos, raw: bytes) -> ReceivedMessage:
    message = email.message_from_bytes(raw, policy=policy.default)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return ReceivedMessage(
        mail_from=mail_from,
        rcpt_tos=tuple(rcpt_tos),
        # Django folds a long encoded subject onto a continuation line: the parsed value then
        # starts with the folding whitespace.
        subject=str(message["Subject"] or "").strip(),
        outbox_id=str(message["X-Work-Accounts-Outbox-Id"] or ""),
        text=text.get_content() if text is not None else "",
        html=html.get_content() if html is not None else "",
        raw=raw,
    )


class _Handler:
    def __init__(self, sink: "SmtpSink"):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        sink = self.sink
        sink.data_started.set()
        with sink._lock:
            refuse, delay = sink.refuse, sink.delay
        if delay:
            # Cancelled (and nothing recorded) if the client disconnects meanwhile.
            await asyncio.sleep(delay)
        received = _parsed(envelope.mail_from, envelope.rcpt_tos, envelope.content)
        if refuse:
            with sink._lock:
                sink.refusals.append(refuse)
                sink.answers.append((time.monotonic(), int(refuse[:3]), received.outbox_id))
            return refuse
        with sink._lock:
            sink._messages.append(received)
            sink.answers.append((time.monotonic(), 250, received.outbox_id))
        return "250 2.0.0 OK: queued"


class SmtpSink:
    """Start with start() (or as a context manager); `messages` is a snapshot of what was accepted."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None):
        self.host = host
        self.port = port or free_port()
        self.refuse: str | None = None  # e.g. TRY_AGAIN_LATER: answer DATA with this
        self.delay: float = 0.0  # seconds to wait before answering DATA
        self.refusals: list[str] = []
        # Every answered DATA: (time.monotonic(), the reply's code, the outbox id of the message).
        self.answers: list[tuple[float, int, str]] = []
        self.data_started = threading.Event()  # set when a client has sent a whole DATA
        self._messages: list[ReceivedMessage] = []
        self._lock = threading.Lock()
        self._controller = Controller(_Handler(self), hostname=host, port=self.port, ready_timeout=10)

    def start(self) -> "SmtpSink":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> "SmtpSink":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def set(self, *, refuse: str | None = None, delay: float = 0.0) -> None:
        with self._lock:
            self.refuse, self.delay = refuse, delay

    def reset(self) -> None:
        with self._lock:
            self.refuse, self.delay = None, 0.0
            self._messages.clear()
            self.refusals.clear()
            self.answers.clear()
        self.data_started.clear()

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._lock:
            return list(self._messages)

    def wait_for(self, count: int, timeout: float = 30) -> list[ReceivedMessage]:
        """Wait until at least `count` messages were accepted; return them (may be fewer on timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.messages
            if len(messages) >= count:
                return messages
            time.sleep(0.05)
        return self.messages
