"""
RFC 7644 §3.12 errors: one exception type, one response shape. ScimError is a django-scim2
SCIMException, so django-scim2's dispatch renders it like its own errors.
"""

import json
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django_scim.exceptions import SCIMException

from scim import constants
from scim.constants import ERROR_SCHEMA, SCIM_CONTENT_TYPE


logger = logging.getLogger("scim.views")


class ScimError(SCIMException):
    def __init__(self, status: int, detail: str, scim_type: str | None = None, headers: dict | None = None):
        super().__init__(detail, status=status, scim_type=scim_type)
        self.headers = headers or {}

    def __str__(self) -> str:
        return self.detail

    def to_dict(self) -> dict:
        # django-scim2's status is an integer; RFC 7644 §3.12 makes it a string.
        body = {"schemas": [ERROR_SCHEMA], "status": str(self.status)}
        if self.scim_type:
            body["scimType"] = self.scim_type
        body["detail"] = self.detail
        return body


def bad_request(detail: str, scim_type: str) -> ScimError:
    return ScimError(400, detail, scim_type)


# An id echoed in a 404's detail is cut here: a client that sent a 5,000-character path gets its
# error, not its path back (the detail is for a person reading a log line).
ECHOED_ID_LENGTH = 64


def not_found(resource_id) -> ScimError:
    shown = str(resource_id)
    if len(shown) > ECHOED_ID_LENGTH:
        shown = shown[:ECHOED_ID_LENGTH] + "…"
    return ScimError(404, constants.RESOURCE_NOT_FOUND.format(id=shown))


def body_too_large() -> ScimError:
    return ScimError(413, constants.BODY_TOO_LARGE.format(limit=settings.SCIM_MAX_BODY_BYTES))


def error_response(error: ScimError) -> HttpResponse:
    response = HttpResponse(json.dumps(error.to_dict()), status=error.status, content_type=SCIM_CONTENT_TYPE)
    for name, value in error.headers.items():
        response[name] = value
    return response


def as_scim_error(exc: Exception, request) -> ScimError:
    """Any failure as the ScimError to answer: never a stack trace or database text."""
    if isinstance(exc, ScimError):
        return exc
    if isinstance(exc, SCIMException):  # raised by django-scim2 itself
        return ScimError(exc.status, exc.detail, exc.scim_type)
    if isinstance(exc, RequestDataTooBig):
        return body_too_large()
    if isinstance(exc, OperationalError | InterfaceError):
        # The database is unreachable or restarting: a retryable condition, not a bug.
        logger.error("SCIM request failed on the database: %s %s", request.method, request.path, exc_info=exc)
        return ScimError(503, constants.UNAVAILABLE, headers={"Retry-After": "60"})
    logger.error("SCIM request failed: %s %s", request.method, request.path, exc_info=exc)
    return ScimError(500, constants.INTERNAL_ERROR)
