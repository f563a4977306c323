"""RFC 7644 §3.12 errors: one exception type, one response shape (status as a string)."""

import json

from django.http import HttpResponse

from scim.constants import ERROR_SCHEMA, SCIM_CONTENT_TYPE


class ScimError(Exception):
    def __init__(self, status: int, detail: str, scim_type: str | None = None, headers: dict | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type
        self.headers = headers or {}

    def to_dict(self) -> dict:
        body = {"schemas": [ERROR_SCHEMA], "status": str(self.status)}
        if self.scim_type:
            body["scimType"] = self.scim_type
        body["detail"] = self.detail
        return body


def bad_request(detail: str, scim_type: str) -> ScimError:
    return ScimError(400, detail, scim_type)


def error_response(error: ScimError) -> HttpResponse:
    response = HttpResponse(json.dumps(error.to_dict()), status=error.status, content_type=SCIM_CONTENT_TYPE)
    for name, value in error.headers.items():
        response[name] = value
    return response
