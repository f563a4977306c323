"""Request id: honour the client's `client-request-id` (Entra sends one) and echo it back."""

import re
import uuid


REQUEST_ID_HEADER = "client-request-id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        sent = request.headers.get(REQUEST_ID_HEADER, "")
        # Only a short, plain token is echoed; anything else is replaced so that a client cannot
        # inject header or log content through it.
        request.request_id = sent if _SAFE_REQUEST_ID.match(sent) else str(uuid.uuid4())
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id
        return response


class QueryCountHeaderMiddleware:
    """
    Benchmarks only (QUERY_COUNT_HEADER=true, or =asked for the requests sending `X-Query-Count`):
    report the SQL statements a request ran in an `X-Query-Count` response header. Counts through
    a cursor execute wrapper, so it needs no DEBUG.
    """

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.asked_only = settings.QUERY_COUNT_ASKED_ONLY

    def __call__(self, request):
        from django.db import connection

        if self.asked_only and "HTTP_X_QUERY_COUNT" not in request.META:
            return self.get_response(request)
        executed = 0

        def count(execute, sql, params, many, context):
            nonlocal executed
            executed += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = self.get_response(request)
        response["X-Query-Count"] = str(executed)
        return response
