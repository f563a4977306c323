"""
The protocol frame every /scim/v2/ view shares, on django-scim2's SCIMView: its dispatch runs the
AUTH_CHECK_MIDDLEWARE hook (our bearer check, scim.auth) and renders every SCIMException; inside
it, ScimFrame applies the body limit and turns any failure into an RFC 7644 §3.12 ScimError, never
a stack trace or database text. Around it, the request becomes one provisioning event.
"""

import json

from django.conf import settings
from django.http import HttpResponse
from django.views.generic import View
from django_scim.views import SCIMView

from scim import constants
from scim.auth import note_failure
from scim.errors import ScimError, as_scim_error, body_too_large, error_response
from scim.events import ScimNote, record_request
from scim.json_body import parse_body
from scim.limits import check_request_limits


def scim_response(document: dict, status: int = 200, headers: dict | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(document), status=status, content_type=constants.SCIM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class ScimFrame(View):
    """Runs inside django-scim2's dispatch, after the auth hook and around the handler."""

    def dispatch(self, request, *args, **kwargs):
        try:
            check_request_limits(request)
            self.before_handler(request, *args, **kwargs)
            return super().dispatch(request, *args, **kwargs)
        except Exception as exc:
            # django-scim2 renders unexpected errors with an integer status and its own text, and
            # database outages as a 500: every failure is raised on as a ScimError, which it renders.
            error = as_scim_error(exc, request)
            note_failure(request, error)
            raise error from None

    def before_handler(self, request, *args, **kwargs) -> None:
        """After authentication, before django-scim2's handler."""


class ScimView(SCIMView, ScimFrame):
    """django-scim2's SCIMView with our auth, error shape and limits."""

    # What the provisioning log calls the resources of this endpoint ("" for discovery).
    log_resource_type = ""

    def dispatch(self, request, *args, **kwargs):
        request.scim_note = ScimNote(resource_type=self.log_resource_type)
        response = super().dispatch(request, *args, **kwargs)
        error = request.scim_note.error
        if error is not None:
            # django-scim2 renders the error body but drops its headers (Allow, Retry-After).
            for name, value in error.headers.items():
                response[name] = value
        # After the answer, in its own transaction: failed requests are logged too.
        record_request(request, response)
        return response

    # Bearer-only, so exempt from CSRF: as an attribute, which as_view() copies onto the view,
    # because method_decorator(csrf_exempt) re-wraps the method on every request (issue 15).
    dispatch.csrf_exempt = True

    def status_501(self, request, *args, **kwargs):
        # django-scim2 answers an unimplemented endpoint with an empty 501 (RFC 7644 §3.12: an error body).
        error = ScimError(501, constants.NOT_IMPLEMENTED.format(feature=self.feature))
        note_failure(request, error)
        return error_response(error)

    def http_method_not_allowed(self, request, *args, **kwargs):
        allowed = ", ".join(m.upper() for m in self._allowed_methods())
        raise ScimError(
            405, constants.METHOD_NOT_ALLOWED.format(method=request.method), headers={"Allow": allowed}
        )

    def load_body(self, body: bytes) -> dict:
        # django-scim2 has no size or nesting limit, accepts any JSON value and words its errors its own way.
        if len(body) > settings.SCIM_MAX_BODY_BYTES:
            raise body_too_large()
        return parse_body(body)

    def json_body(self, request) -> dict:
        return self.load_body(request.body)


class NotFoundView(ScimView):
    """Anything else under the SCIM base URL: a SCIM 404, not Django's HTML page."""

    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def _not_found(self, request, *args, **kwargs):
        raise ScimError(404, constants.ENDPOINT_NOT_FOUND.format(path=request.path))

    get = post = put = patch = delete = head = options = _not_found


class NotImplementedView(ScimView):
    """/Bulk and /Me: advertised as unsupported in ServiceProviderConfig; RFC 7644 §3.7 → 501."""

    implemented = False  # django-scim2's dispatch answers status_501 after the auth hook
    feature = ""
