"""Request size limits checked before anything reads the request (issue 12): body and query string."""

from django.conf import settings

from scim.errors import ScimError, body_too_large


QUERY_TOO_LONG = (
    "The query string is longer than {limit} bytes; send a long filter in the body of "
    "POST .../.search instead (RFC 7644 §3.4.3)."
)


def check_request_limits(request) -> None:
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > settings.SCIM_MAX_BODY_BYTES:
        raise body_too_large()
    limit = settings.SCIM_MAX_QUERY_BYTES
    # RFC 9110 §15.5.15: 414 URI Too Long; at least 8 KB are served (gunicorn admits 16 KB lines).
    if len(request.META.get("QUERY_STRING", "")) > limit:
        raise ScimError(414, QUERY_TOO_LONG.format(limit=limit))
