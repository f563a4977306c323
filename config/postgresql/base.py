"""
Django's PostgreSQL backend, with the per-request health check of a persistent connection
answered from its socket instead of a SELECT 1 round trip (issue 15).

With CONN_HEALTH_CHECKS, Django runs `SELECT 1` before the first query of every request that
reuses a connection: a round trip, and CPU in both processes, on every SCIM request. A connection
PostgreSQL has closed (a restart, pg_terminate_backend, idle_session_timeout) has something to
read: the server's FATAL message, or the end of the stream. So a connection whose socket is quiet
is taken as it is, and one with anything to read gets Django's own check.
"""

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self):
        if (
            self.pool is None
            and self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and self._looks_open()
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()  # the SELECT 1 (or nothing left to check)

    def _looks_open(self) -> bool:
        if self.connection.closed or self.connection.pgconn.status != base.Database.pq.ConnStatus.OK:
            return False
        poller = select.poll()
        poller.register(self.connection.pgconn.socket, select.POLLIN | select.POLLPRI)
        return not poller.poll(0)  # POLLERR and POLLHUP are reported whatever was asked
