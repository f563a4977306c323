"""
Django's PostgreSQL backend, with two savings on every SCIM request (issue 15):

- the per-request health check of a persistent connection answered from its socket instead of a
  SELECT 1 round trip;
- timestamps read by psycopg's C loader (see TimestamptzLoader below).

With CONN_HEALTH_CHECKS, Django runs `SELECT 1` before the first query of every request that
reuses a connection: a round trip, and CPU in both processes, on every SCIM request. A connection
PostgreSQL has closed (a restart, pg_terminate_backend, idle_session_timeout) has something to
read: the server's FATAL message, or the end of the stream. So a connection whose socket is quiet
is taken as it is, and one with anything to read gets Django's own check.
"""

import functools
import select

from django.conf import settings
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        params["context"] = _adapters_template(settings.USE_TZ, self.timezone)
        return params

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


# Django reads timestamptz with a Python subclass of psycopg's loader (to give each value the
# connection's tzinfo), which keeps psycopg_binary's C loader out: 7 µs a value instead of 1, and
# an account's row and a token's row hold a dozen timestamps. psycopg's C loader cannot be
# subclassed, so this one wraps it and does what Django's does after it: the same values.


@functools.cache
def _adapters_template(use_tz, timezone):
    template = base.get_adapters_template(use_tz, timezone)  # Django's
    optimised = _c_timestamptz_loader()
    if not use_tz or optimised is None:
        return template
    adapters = base.Database.adapt.AdaptersMap(template)
    loader = type(
        "TimestamptzLoader",
        (TimestamptzLoader,),
        {"timezone": timezone, "optimised": optimised, "__module__": __name__},
    )
    adapters.register_loader("timestamptz", loader)
    return adapters


def _c_timestamptz_loader():
    Database = base.Database
    oid = Database.adapters.types["timestamptz"].oid
    loader = Database.adapters.get_loader(oid, Database.pq.Format.TEXT)
    return loader if loader.__module__.startswith("psycopg_") else None  # psycopg_binary or psycopg_c


class TimestamptzLoader(base.Database.adapt.Loader):
    """psycopg's C loader, then Django's BaseTzLoader: the value given the connection's tzinfo
    (`timezone`, which Django's create_cursor compares with its own)."""

    timezone = None
    optimised = None

    def __init__(self, oid, context=None):
        super().__init__(oid, context)
        self._load = self.optimised(oid, context).load

    def load(self, data):
        return self._load(data).replace(tzinfo=self.timezone)
