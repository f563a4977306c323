"""
The provisioning log's view of a SCIM request: views fill a ScimNote as they go (what kind of
resource, which action, which object, what changed); once the answer is ready, record_request turns
note, request and response into one provisioning event.
"""

import json
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

from django.conf import settings

from accounts.services import MANAGER_UNKNOWN, MEMBER_UNKNOWN
from config.proxies import client_address
from provisioning_logs.batching import event_submit
from provisioning_logs.models import Action
from provisioning_logs.redaction import REDACTED, is_secret_name, redacted_body
from provisioning_logs.services import EventRecord, recording_failed
from scim.filters import BARE_WORD
from scim.users.mapping import LOGGED_NAMES


logger = logging.getLogger(__name__)
# The value Entra matched on: quoted, or bare as other clients send it (scim.filters, issue 14).
_FILTER_VALUE = re.compile(rf'\beq\s+(?:"((?:[^"\\]|\\.)*)"|({BARE_WORD}))', re.IGNORECASE)
# Errors about a reference (manager, group member): Entra's quarantine rules count them apart.
_REFERENCE_ERROR_PREFIXES = tuple(template.split("{")[0] for template in (MANAGER_UNKNOWN, MEMBER_UNKNOWN))
_SPECIAL_NAMES = {
    "active": "active",
    "manager_id": "manager",
    "phone_numbers": "phoneNumbers",
    "members": "members",
}


@dataclass
class ScimNote:
    started: float = field(default_factory=time.monotonic)
    resource_type: str = ""
    action: str = Action.OTHER
    skipped: bool = False
    resource_id: object = None
    external_id: str = ""
    identity: str = ""
    changes: tuple = ()
    error: object = None  # the ScimError answered, if any
    warnings: list = field(default_factory=list)  # what a successful request should still report
    connection: object = None  # set when a credential names a connection it cannot use

    def looked_up(self, filter_text: str | None) -> None:
        """A query: its identity is the value Entra matched on (userName eq "…")."""
        self.action = Action.LOOKUP
        match = _FILTER_VALUE.search(filter_text) if isinstance(filter_text, str) else None
        if match:
            self.identity = match.group(1) if match.group(1) is not None else match.group(2)

    def named_by_body(self, body: dict) -> None:
        if not isinstance(body, dict):
            return
        name = body.get("userName") or body.get("displayName")
        if isinstance(name, str):
            self.identity = name
        if isinstance(body.get("externalId"), str):
            self.external_id = body["externalId"]

    def took(self, obj, changes=()) -> None:
        """The object the request handled, and what changed (PropertyChanges)."""
        if obj is not None:
            self.resource_id = obj.pk
            self.identity = getattr(obj, "user_name", None) or getattr(obj, "display_name", None) or ""
            self.external_id = obj.external_id or self.external_id
        self.changes = tuple(changes)

    def warn(self, text: str) -> None:
        """Something the request stored that an admin should know about (an unresolved manager)."""
        self.warnings.append(text)

    def updated(self, obj, changes) -> None:
        """PUT or PATCH: Disable/Enable when `active` changed, Other (no change needed) when nothing did."""
        self.took(obj, changes)
        active = next((change for change in changes if change.name == "active"), None)
        if active is not None:
            self.action = Action.ENABLE if active.new else Action.DISABLE
        elif not changes:
            self.action, self.skipped = Action.OTHER, True
        else:
            self.action = Action.UPDATE


def scim_attribute_name(name: str) -> str:
    """accounts' attribute names as SCIM clients know them (name_given_name → name.givenName)."""
    if name in _SPECIAL_NAMES:
        return _SPECIAL_NAMES[name]
    return LOGGED_NAMES.get(name, name)


def _credential_label(credential) -> str:
    if credential is None:
        return ""
    label = getattr(credential, "label", None)
    if label:
        return f"secret token {label}"
    return "OAuth access token"


def _error_fields(response, note: ScimNote) -> tuple[str, str]:
    if note.error is not None:
        return note.error.scim_type or "", note.error.detail or ""
    if response.status_code >= 400 and not response.streaming:
        try:
            body = json.loads(response.content or b"{}")
        except ValueError:
            return "", ""
        return body.get("scimType", "") or "", str(body.get("detail", "") or "")
    return "", ""


STREAM_FAILED = "The answer failed after it had started ({error}); the client got an incomplete body."
STREAM_CUT = "The client closed the connection before the answer was complete."


def record_request(request, response) -> None:
    """Log the request if it can be tied to a connection (a bearer nobody issued cannot).

    A streamed answer (a group's members) is logged when its last chunk is out, as a failure if
    the stream broke off: logged before, a failure mid-stream was recorded as a success (issue 12)."""
    if response.streaming:
        recorded = []
        chunks = response.streaming_content  # read before it is replaced
        response.streaming_content = _recorded_stream(request, response, chunks, recorded)
        # An answer closed before its first chunk (never iterated) is recorded on close (Django
        # has no public close hook; its closers list is what close() runs).
        response._resource_closers.append(lambda: recorded or _record(request, response, STREAM_CUT))
        return
    _record(request, response)


def _recorded_stream(request, response, chunks, recorded: list):
    failure = STREAM_CUT
    try:
        yield from chunks
        failure = None
    except Exception as exc:
        logger.exception("SCIM answer failed while streaming: %s %s", request.method, request.path)
        failure = STREAM_FAILED.format(error=type(exc).__name__)
        raise
    finally:
        recorded.append(True)
        _record(request, response, stream_failure=failure)


def _record(request, response, stream_failure: str | None = None) -> None:
    if not settings.PROVISIONING_LOG_ENABLED:
        return
    note: ScimNote = getattr(request, "scim_note", None) or ScimNote()
    principal = getattr(request, "scim", None)
    connection = principal.connection if principal is not None else note.connection
    if connection is None:
        return
    try:
        scim_type, detail = _error_fields(response, note)
        http_status = response.status_code
        if stream_failure is not None:
            # The 200 is sent, but the answer is not whole: the log says what the client got.
            scim_type, detail, http_status = "", stream_failure, 500
        record = EventRecord(
            organization=connection.organization,
            connection=connection,
            method=request.method,
            path=_logged_path(request),
            http_status=http_status,
            duration_ms=int((time.monotonic() - note.started) * 1000),
            request_id=getattr(request, "request_id", "") or request.headers.get("client-request-id", ""),
            client_address=client_address(request),
            credential=_credential_label(principal.credential if principal is not None else None),
            resource_type=note.resource_type,
            action=note.action,
            skipped=note.skipped,
            resource_id=note.resource_id if note.resource_id is not None else _id_in_url(request, note),
            external_id=note.external_id,
            identity=note.identity,
            scim_type=scim_type,
            detail=detail,
            modified_properties=[
                (scim_attribute_name(change.name), change.old, change.new) for change in note.changes
            ],
            request_body=redacted_body(_body_of(request)),
            reference_failure=detail.startswith(_REFERENCE_ERROR_PREFIXES),
            warnings=tuple(note.warnings) if http_status < 400 else (),
        )
    except Exception:  # whatever the request held, its answer stands and the loss is counted
        logger.exception("Could not build the provisioning event of %s %s", request.method, request.path)
        recording_failed(connection=connection)
        return
    event_submit(record)


def _logged_path(request) -> str:
    """The path and query, with the value of any secret-named query parameter redacted."""
    path = request.get_full_path()
    base, separator, query = path.partition("?")
    if not separator:
        return path
    parameters = []
    for parameter in query.split("&"):
        name, equals, _ = parameter.partition("=")
        parameters.append(
            f"{name}={REDACTED}" if equals and is_secret_name(unquote_plus(name)) else parameter
        )
    return f"{base}?{'&'.join(parameters)}"


def _id_in_url(request, note: ScimNote):
    """The id a /Users/<id> or /Groups/<id> request named, when the view did not get to note it (404)."""
    match = getattr(request, "resolver_match", None)
    value = match.kwargs.get("uuid") if match is not None else None
    if not value or note.resource_type not in ("User", "Group"):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _body_of(request) -> bytes:
    try:
        return request.body if request.method in ("POST", "PUT", "PATCH") else b""
    except Exception:  # an oversized or unread stream: nothing to show
        return b""
