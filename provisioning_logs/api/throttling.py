"""
Requests per client: an API client by its client id, a portal user by account. The counts live in
a cache every worker and node shares (settings.AUDIT_API_THROTTLE_CACHE: Redis, or the database).
"""

import logging

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle

from provisioning_logs.api.access import api_client_of


logger = logging.getLogger(__name__)


class AuditClientThrottle(SimpleRateThrottle):
    scope = "audit"

    @property
    def cache(self):
        # Looked up per request (SimpleRateThrottle binds the default cache at import).
        return caches[settings.AUDIT_API_THROTTLE_CACHE]

    def get_rate(self):
        # Read per request: SimpleRateThrottle reads DEFAULT_THROTTLE_RATES once, at import.
        return settings.AUDIT_API_RATE

    def get_cache_key(self, request, view):
        client = api_client_of(request)
        if client is not None:
            ident = f"client:{client.client_id}"
        elif request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            return None  # refused before it is counted: authentication and permissions come first
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:
            # An unreachable throttle cache must not take the API down with it.
            logger.exception("Audit API throttle cache unavailable; request allowed")
            return True
