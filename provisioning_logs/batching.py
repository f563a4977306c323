"""
The provisioning log written off the request path, in batches (issue 15).

A SCIM request's answer does not depend on its event, so the request only appends the event to
this process's queue and returns; one flusher thread per process writes what has queued with
services.events_record (one transaction per organization: one lock, one multi-row INSERT,
coalesced counters). It writes as soon as something is queued and whatever arrives meanwhile goes
into the next batch (group commit): one event alone is written within milliseconds, and under load
a batch holds what the workers answered while the previous one was being written.

Loss window: events are in memory until their batch commits. Graceful stops write them all
(gunicorn's worker_exit hook, worker recycling and SIGTERM included, and atexit for any other
process); a killed process (SIGKILL, OOM, power loss) loses what was queued, at most the
events answered during one batch write (milliseconds under normal load; README "Provisioning log").
When the database cannot take the events, the queue stops growing at
PROVISIONING_LOG_MAX_QUEUED: a request beyond it writes its own event (event_record), which
counts the failure on the connection's health as before.
"""

import atexit
import logging
import os
import threading
import time
from datetime import datetime

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone

from config.metrics import log_batch_written, log_event_unqueued
from provisioning_logs.services import EventRecord, event_record, events_record


logger = logging.getLogger(__name__)


class EventBatcher:
    def __init__(self, *, max_queued: int, max_batch: int, linger_seconds: float = 0.0):
        self.max_queued = max_queued
        self.max_batch = max_batch
        self.linger_seconds = linger_seconds
        self._queued: list[tuple[EventRecord, datetime]] = []
        self._queue_changed = threading.Condition()
        self._writing = threading.Lock()  # one batch at a time, so events commit in queue order
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, record: EventRecord) -> None:
        with self._queue_changed:
            if not self._closed and len(self._queued) < self.max_queued:
                # Timed under the lock: the queue is in time order, as event by event.
                self._queued.append((record, timezone.now()))
                self._start_flusher()
                self._queue_changed.notify()
                return
        log_event_unqueued()
        event_record(record)  # closed, or the database is behind: this request writes its own

    def flush(self) -> int:
        """Write everything queued so far, in this thread; returns when it is committed."""
        written = 0
        with self._writing:
            while batch := self._take():
                started = time.monotonic()
                written += events_record(batch)
                log_batch_written(len(batch), time.monotonic() - started)
        return written

    def close(self) -> None:
        """Stop the flusher and write what is queued (graceful shutdown)."""
        with self._queue_changed:
            self._closed = True
            self._queue_changed.notify()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=settings.PROVISIONING_LOG_CLOSE_TIMEOUT_SECONDS)
        self.flush()

    @property
    def queued(self) -> int:
        return len(self._queued)

    def _take(self) -> list[tuple[EventRecord, datetime]]:
        with self._queue_changed:
            batch, self._queued = self._queued[: self.max_batch], self._queued[self.max_batch :]
            return batch

    def _start_flusher(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="provisioning-log-flusher", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._queue_changed:
                while not self._queued and not self._closed:
                    self._queue_changed.wait()
                if self.linger_seconds and not self._closed:
                    # Gather a larger batch (PROVISIONING_LOG_LINGER_MS); a shutdown ends the wait.
                    self._queue_changed.wait_for(lambda: self._closed, timeout=self.linger_seconds)
                if self._closed:
                    break
            try:
                close_old_connections()  # a connection the database dropped is replaced, as per request
                self.flush()
            except Exception:  # events_record counts its own failures; this keeps the thread alive
                logger.exception("The provisioning log flusher failed; it goes on with the next batch")
        connections.close_all()


_batcher: EventBatcher | None = None
_batcher_pid: int | None = None
_batcher_lock = threading.Lock()


def event_batcher() -> EventBatcher:
    """This process's batcher (a forked worker gets its own: threads do not survive fork)."""
    global _batcher, _batcher_pid
    with _batcher_lock:
        if _batcher is None or _batcher_pid != os.getpid():
            _batcher = EventBatcher(
                max_queued=settings.PROVISIONING_LOG_MAX_QUEUED,
                max_batch=settings.PROVISIONING_LOG_MAX_BATCH,
                linger_seconds=settings.PROVISIONING_LOG_LINGER_MS / 1000,
            )
            _batcher_pid = os.getpid()
        return _batcher


def event_submit(record: EventRecord) -> None:
    """The request path's way to log: queued for the flusher, or written now (unbatched)."""
    if settings.PROVISIONING_LOG_BATCHED:
        event_batcher().submit(record)
    else:
        event_record(record)


def event_flush() -> int:
    """Write what this process has queued (tests, and anything that reads the log it just wrote)."""
    if _batcher is None or _batcher_pid != os.getpid():
        return 0
    return _batcher.flush()


@atexit.register
def flush_at_exit() -> None:
    """Graceful shutdown: gunicorn's worker_exit hook calls it; atexit for every other process."""
    if _batcher is None or _batcher_pid != os.getpid():
        return
    try:
        _batcher.close()
    except Exception:
        logger.exception("Could not write the queued provisioning events at exit")
