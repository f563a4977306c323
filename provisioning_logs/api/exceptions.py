"""Every audit API error is DRF's JSON ({"detail": …}) with its status: never HTML, never a trace."""

import logging

from django.urls import Resolver404, resolve
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


logger = logging.getLogger(__name__)
SERVER_ERROR = "A server error occurred; nothing was changed. Try again later."
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is None:
        # DRF re-raises what it does not know, and Django would answer with its HTML 500 page.
        view = context.get("view")
        logger.exception("Audit API error in %s", type(view).__name__ if view else "a view", exc_info=exc)
        response = Response({"detail": SERVER_ERROR}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    return response


@extend_schema(exclude=True)
@api_view(ALL_METHODS)
@authentication_classes([])
@permission_classes([])
@throttle_classes([])
def not_found(request, *args, **kwargs):
    """
    Any /api/ path that names no endpoint: a JSON 404 (Django's own would be an HTML page). A path
    that lacks only its trailing slash is redirected, as Django's APPEND_SLASH would, with 308 so
    that the method is kept.
    """
    location = _with_trailing_slash(request)
    if location is not None:
        return Response(
            {"detail": f"This endpoint is {location}"},
            status=status.HTTP_308_PERMANENT_REDIRECT,
            headers={"Location": location},
        )
    raise NotFound()


def _with_trailing_slash(request) -> str | None:
    path = request.path_info
    if path.endswith("/"):
        return None
    try:
        match = resolve(path + "/")
    except Resolver404:
        return None
    if match.url_name == "not-found":
        return None
    query = request.META.get("QUERY_STRING", "")
    return request.path + "/" + (f"?{query}" if query else "")
