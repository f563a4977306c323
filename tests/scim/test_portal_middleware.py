"""
Bearer-only SCIM skips the portal's session, authentication and messages middleware (issue 15:
CPU per provisioning request); every other path still gets them.
"""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from scim.middleware import PortalAuthenticationMiddleware, PortalMessageMiddleware, PortalSessionMiddleware


pytestmark = pytest.mark.django_db

# What each middleware puts on the request.
ATTRIBUTE = {
    PortalSessionMiddleware: "session",
    PortalAuthenticationMiddleware: "user",
    PortalMessageMiddleware: "_messages",
}


def attributes_seen(middleware_class, path: str) -> bool:
    """Whether the view behind the middleware sees the middleware's request attribute."""
    request = RequestFactory().get(path)
    if middleware_class is not PortalSessionMiddleware:
        request.session = {}  # what authentication and messages read (sessions run before them)
    seen = []

    def view(request):
        seen.append(hasattr(request, ATTRIBUTE[middleware_class]))
        return HttpResponse()

    middleware_class(view)(request)
    return seen[0]


@pytest.mark.parametrize("middleware_class", list(ATTRIBUTE), ids=lambda c: c.__name__)
def test_a_scim_request_passes_the_portal_middleware_untouched(middleware_class):
    assert attributes_seen(middleware_class, "/scim/v2/Users") is False


@pytest.mark.parametrize("middleware_class", list(ATTRIBUTE), ids=lambda c: c.__name__)
def test_a_portal_request_gets_the_portal_middleware(middleware_class):
    assert attributes_seen(middleware_class, "/signin/") is True
