"""
Work a web process does once at start instead of on its first requests (issue 15).

Django imports the URLconf (and with it every view module: the admin, DRF, django-scim2,
django-oauth-toolkit) and compiles each URL pattern's regular expression lazily, on the first
request that needs them. Run in gunicorn's arbiter (preload_app), it happens once before the
workers fork: each worker starts warm, its first SCIM requests are not the slowest of its life,
and the imported code is shared copy-on-write (and frozen out of the collector, gc_freeze).
Nothing here opens a database connection: a connection made before fork would be shared by
every worker.
"""

import contextlib

from django.urls import Resolver404, get_resolver


# One path of each kind the URLconf serves, so every prefix's pattern (and the SCIM ones) compiles.
PATHS = (
    "/scim/v2/Users",
    "/scim/v2/Users/00000000-0000-4000-8000-000000000000",
    "/scim/v2/Users/.search",
    "/scim/v2/Groups",
    "/scim/v2/Groups/00000000-0000-4000-8000-000000000000",
    "/scim/v2/ServiceProviderConfig",
    "/scim/v2/ResourceTypes",
    "/scim/v2/Schemas",
    "/signin/",
    "/admin/",
    "/api/",
    "/o/token/",
    "/metrics",
)


def warm_up() -> None:
    resolver = get_resolver()
    for path in PATHS:
        # Resolver404 for a path another configuration does not serve: the patterns it tried compiled.
        with contextlib.suppress(Resolver404):
            resolver.resolve(path)
    resolver.reverse_dict  # noqa: B018 - populates reverse() (Location headers, redirects) once
