"""Our SCIM knobs, read lazily from settings (never at import time)."""

from django.conf import settings


def max_results() -> int:
    return settings.SCIM_MAX_RESULTS


def default_count() -> int:
    return min(settings.SCIM_DEFAULT_COUNT, settings.SCIM_MAX_RESULTS)


def max_operations() -> int:
    return settings.SCIM_MAX_OPERATIONS


def cursor_timeout() -> int:
    return settings.SCIM_CURSOR_TIMEOUT
