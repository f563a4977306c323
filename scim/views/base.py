"""
The protocol frame every /scim/v2/ view shares: bearer auth, body limits, JSON parsing, and the
guarantee that every failure is an RFC 7644 §3.12 error, never a stack trace or database text.
"""

import json
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import View
from django_scim import exceptions as django_scim_exceptions
from django_scim.views import SCIMView

from scim import constants
from scim.auth import authenticate_bearer
from scim.errors import ScimError, bad_request, error_response
from scim.events import ScimNote, record_request


logger = logging.getLogger(__name__)


def scim_response(document: dict, status: int = 200, headers: dict | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(document), status=status, content_type=constants.SCIM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class ScimView(SCIMView):
    """django-scim2's SCIMView with our auth, error shape and limits."""

    # What the provisioning log calls the resources of this endpoint ("" for discovery).
    log_resource_type = ""

    @method_decorator(csrf_exempt)
    def dispatch(self, request, *args, **kwargs):
        request.scim_note = ScimNote(resource_type=self.log_resource_type)
        response = self._answer(request, *args, **kwargs)
        # After the answer, in its own transaction: failed requests are logged too.
        record_request(request, response)
        return response

    def _answer(self, request, *args, **kwargs):
        try:
            request.scim = authenticate_bearer(request)
            self._check_body_size(request)
            return View.dispatch(self, request, *args, **kwargs)
        except ScimError as error:
            return self._failed(request, error)
        except django_scim_exceptions.SCIMException as error:
            return self._failed(request, ScimError(error.status, error.detail, error.scim_type))
        except (OperationalError, InterfaceError):
            # The database is unreachable or restarting: a retryable condition, not a bug.
            logger.exception("SCIM request failed on the database: %s %s", request.method, request.path)
            return self._failed(request, ScimError(503, constants.UNAVAILABLE, headers={"Retry-After": "60"}))
        except Exception:
            logger.exception("SCIM request failed: %s %s", request.method, request.path)
            return self._failed(request, ScimError(500, constants.INTERNAL_ERROR))

    @staticmethod
    def _failed(request, error: ScimError):
        request.scim_note.error = error
        if getattr(error, "connection", None) is not None:
            request.scim_note.connection = error.connection
        return error_response(error)

    def http_method_not_allowed(self, request, *args, **kwargs):
        allowed = ", ".join(m.upper() for m in self._allowed_methods())
        raise ScimError(
            405, constants.METHOD_NOT_ALLOWED.format(method=request.method), headers={"Allow": allowed}
        )

    def _check_body_size(self, request) -> None:
        limit = settings.SCIM_MAX_BODY_BYTES
        try:
            declared = int(request.headers.get("Content-Length") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            raise ScimError(413, constants.BODY_TOO_LARGE.format(limit=limit))

    def json_body(self, request) -> dict:
        try:
            raw = request.body
        except RequestDataTooBig:
            raise ScimError(
                413, constants.BODY_TOO_LARGE.format(limit=settings.SCIM_MAX_BODY_BYTES)
            ) from None
        if len(raw) > settings.SCIM_MAX_BODY_BYTES:
            raise ScimError(413, constants.BODY_TOO_LARGE.format(limit=settings.SCIM_MAX_BODY_BYTES))
        try:
            body = json.loads(raw.decode("utf-8") or "null")
        except (UnicodeDecodeError, ValueError) as exc:
            reason = exc.args[0] if isinstance(exc, ValueError) and exc.args else "not UTF-8"
            raise bad_request(
                constants.BODY_NOT_JSON.format(reason=reason), constants.INVALID_SYNTAX
            ) from None
        if not isinstance(body, dict):
            raise bad_request(constants.BODY_NOT_OBJECT, constants.INVALID_SYNTAX)
        return body


class NotFoundView(ScimView):
    """Anything else under the SCIM base URL: a SCIM 404, not Django's HTML page."""

    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def _not_found(self, request, *args, **kwargs):
        raise ScimError(404, constants.ENDPOINT_NOT_FOUND.format(path=request.path))

    get = post = put = patch = delete = head = options = _not_found


class NotImplementedView(ScimView):
    """/Bulk and /Me: advertised as unsupported in ServiceProviderConfig; RFC 7644 §3.7 → 501."""

    feature = ""
    http_method_names = ["get", "post", "put", "patch", "delete"]

    def _not_implemented(self, request, *args, **kwargs):
        raise ScimError(501, constants.NOT_IMPLEMENTED.format(feature=self.feature))

    get = post = put = patch = delete = _not_implemented
