"""
The boundary of /scim/v2/ at Django's level (issue 12): whatever Django itself answers there is
SCIM JSON in RFC 7644 §3.12 shape, never its HTML pages nor (with DEBUG on) a traceback.

Failures inside a SCIM view are SCIM errors already (scim.views.base.ScimFrame); this catches what
happens around the views: a Host header outside ALLOWED_HOSTS (Django's DisallowedHost, raised
by the first middleware that calls request.get_host()), and any response Django renders itself
(handler400/403/404/500 pages, CSRF, an exception outside the SCIM frame), which keeps its status
and Allow/Retry-After headers but gets a SCIM body.
"""

import logging
from http import HTTPStatus

from csp.middleware import CSPMiddleware
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.exceptions import DisallowedHost

from scim import constants
from scim.errors import ScimError, error_response


SCIM_PATH = "/scim/v2"
HOST_NOT_ALLOWED = "The Host header names a host this service does not answer for."
DJANGO_ERRORS = {
    404: "No SCIM endpoint at {path}.",
    500: constants.INTERNAL_ERROR,
}
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "client-request-id")
_JSON_TYPES = (constants.SCIM_CONTENT_TYPE, "application/json")
security_logger = logging.getLogger("django.security.DisallowedHost")


def is_scim_path(path: str) -> bool:
    return path == SCIM_PATH or path.startswith(SCIM_PATH + "/")


class ScimBoundaryMiddleware:
    """First in MIDDLEWARE (after the request id): nothing before it can render HTML."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_scim_path(request.path_info):
            return self.get_response(request)
        try:
            request.get_host()
        except DisallowedHost as exc:
            security_logger.warning("SCIM request refused: %s", exc)
            return error_response(ScimError(400, HOST_NOT_ALLOWED))
        response = self.get_response(request)
        if response.status_code < 300 or response.status_code == 304 or _is_json(response):
            return response
        return _as_scim_error(request, response)


def _is_json(response) -> bool:
    content_type = response.get("Content-Type", "").split(";")[0].strip().lower()
    return content_type in _JSON_TYPES


def _as_scim_error(request, response):
    status = response.status_code
    if 300 <= status < 400:  # a redirect (APPEND_SLASH) would send a SCIM client off: not a SCIM URL
        status = 404
    template = DJANGO_ERRORS.get(status)
    detail = template.format(path=request.path) if template else _phrase(status)
    error = ScimError(status, detail)
    scim_response = error_response(error)
    for name in _KEPT_HEADERS:
        if name in response:
            scim_response[name] = response[name]
    return scim_response


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase + "."
    except ValueError:
        return "The request failed."


class _PortalOnly:
    """
    A portal middleware bypassed under /scim/v2/: SCIM is bearer-only (scim.auth), so a session,
    request.user and messages are never read there, and loading them cost CPU on
    every provisioning request (issue 15). Elsewhere the middleware runs unchanged.
    """

    # Sync only (WSGI); under ASGI Django adapts it like any sync middleware.
    sync_capable, async_capable = True, False

    def __call__(self, request):
        if is_scim_path(request.path_info):
            return self.get_response(request)
        return super().__call__(request)


class PortalSessionMiddleware(_PortalOnly, SessionMiddleware):
    pass


class PortalAuthenticationMiddleware(_PortalOnly, AuthenticationMiddleware):
    pass


class PortalMessageMiddleware(_PortalOnly, MessageMiddleware):
    pass


class PortalContentSecurityPolicyMiddleware(_PortalOnly, CSPMiddleware):
    # django-csp builds the whole policy for every response before it looks at
    # EXCLUDE_URL_PREFIXES (which excludes /scim/: JSON for machines, not pages).
    pass
