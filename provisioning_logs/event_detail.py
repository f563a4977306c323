"""
What an event's detail shows, in the four tabs of Entra's own provisioning log: the steps of the
request, troubleshooting (the error and what to do about it), the modified properties and a
summary of every field. The portal's event page and the audit API's event detail both show
event_detail(event), so they always say the same.
"""

import json
from dataclasses import dataclass
from http import HTTPStatus

from provisioning_logs.models import Action, ProvisioningEvent, Status


# RFC 7644 §3.12 scimType values. provisioning_logs never imports scim, so the strings are
# spelled here as they appear in the event's scim_type column.
SCIM_TYPE_ADVICE = {
    "uniqueness": (
        "An account with this userName already exists in this organization, so Entra could not "
        "create another one. Check Entra's matching attribute (userName ↔ userPrincipalName by "
        "default): if the existing account is the same person, fix the mapping so that Entra matches "
        "it instead of creating it; otherwise change the userName in Entra. Then provision on demand "
        "or wait for the next cycle."
    ),
    "invalidValue": (
        "A value in the request is not acceptable for its attribute (wrong type, unknown value or "
        "too long). Fix the source value or the attribute mapping in Entra for the attribute named "
        "in the detail, then provision on demand."
    ),
    "invalidSyntax": (
        "The request body is not valid SCIM: it is not JSON, or a required attribute is missing. "
        "Check the attribute mappings in Entra (a required attribute such as userName may be "
        "mapped to an empty source value)."
    ),
    "invalidFilter": (
        "The filter of the query could not be understood. Entra filters on its matching attribute "
        '(userName eq "…" or externalId eq "…"): check that the matching attribute in Entra\'s '
        "mappings is one this service supports."
    ),
    "invalidPath": (
        "The PATCH path names an attribute this service does not know. Remove the mapping of the "
        "attribute named in the detail from Entra, or map it to a supported attribute."
    ),
    "noTarget": (
        "The PATCH path selected nothing to change (for example a group member that does not "
        "exist). Provision the referenced object first, then retry; Entra retries on its next cycle."
    ),
    "mutability": (
        "Entra tried to change a read-only attribute (such as id or meta). Remove that attribute "
        "from Entra's attribute mappings or set it to apply on object creation only."
    ),
    "tooMany": (
        "The request asked for or carried too much at once (too many results or PATCH operations). "
        "Entra retries with smaller requests; if it persists, narrow the scope of the query."
    ),
    "invalidVers": (
        "The version sent with the request (If-Match) does not match the resource's current "
        "version. Entra reads the resource again and retries; no action is needed unless it repeats."
    ),
}

HTTP_STATUS_ADVICE = {
    400: (
        "The request was malformed. Check the attribute mappings in Entra for the attribute named "
        "in the detail, then provision on demand."
    ),
    401: (
        "The credential was refused: the secret token is unknown, expired or revoked, or the OAuth "
        "access token is no longer valid. Issue a new secret token on the provisioning connection "
        "and paste it into Entra's Secret Token field, or re-authorize the connection, then run "
        "Test Connection in Entra."
    ),
    403: (
        "The provisioning connection is turned off, so every request is refused. An organization "
        "admin can enable it again on the connection's page in this portal."
    ),
    404: (
        "The resource does not exist here (it was deleted, or never created in this organization). "
        "If the object is still in scope, Entra creates it again; if this repeats, restart "
        "provisioning in Entra to clear its cached matches."
    ),
    405: "This service does not support the request's method on this endpoint; nothing changed.",
    409: (
        "The request conflicts with an existing resource (an account with this userName or a group "
        "with this displayName already exists). Check Entra's matching attribute, then retry."
    ),
    412: (
        "Version mismatch: the resource changed after Entra read it. Entra reads it again and "
        "retries; no action is needed unless it repeats."
    ),
    413: (
        "The request body was too large for this service (for example a group with very many "
        "members in one request). Entra retries with smaller requests; nothing changed."
    ),
    429: (
        "Too many requests at once: this service asked Entra to slow down. Entra retries "
        "automatically; no action is needed unless it persists."
    ),
    500: (
        "An internal error on this service; the request changed nothing. Entra retries later "
        "(about 40 minutes). If it repeats, give support the request id shown in the summary."
    ),
    501: (
        "The request uses a SCIM feature this service does not support. Remove the attribute "
        "mapping or setting that needs it in Entra."
    ),
    503: (
        "This service was temporarily unavailable; the request changed nothing. Entra retries "
        "automatically; no action is needed unless it persists."
    ),
}

GROUP_UNIQUENESS_ADVICE = (
    "A group with this displayName already exists in this organization, so Entra could not create "
    "another one. Rename one of the groups in Entra, or check that Entra matches groups on "
    "displayName, then provision on demand or wait for the next cycle."
)
SUCCEEDED = "This request succeeded: there is nothing to troubleshoot."
SUCCEEDED_WITH_WARNING = (
    "This request succeeded, with the warning above. A manager that is not provisioned yet is "
    "linked automatically when Entra provisions that account; if it never appears, check that the "
    "manager is in the scope of Entra's provisioning job."
)
NO_CHANGE = "Nothing needed to change: the resource already had these values."
UNKNOWN_FAILURE = "The request failed. Check the detail and the request body in the summary."


def advice_for(*, scim_type: str, http_status: int, resource_type: str = "") -> str:
    """What an admin should do about a failed request: by scimType, else by HTTP status."""
    if scim_type == "uniqueness" and resource_type == "Group":
        return GROUP_UNIQUENESS_ADVICE
    if scim_type in SCIM_TYPE_ADVICE:
        return SCIM_TYPE_ADVICE[scim_type]
    if http_status in HTTP_STATUS_ADVICE:
        return HTTP_STATUS_ADVICE[http_status]
    if http_status >= 500:
        return HTTP_STATUS_ADVICE[500]
    return UNKNOWN_FAILURE


@dataclass(frozen=True)
class Step:
    name: str
    status: str
    description: str


@dataclass(frozen=True)
class Troubleshooting:
    failed: bool
    error_code: str
    reason: str
    advice: str


def http_status_text(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


def _resource_label(event: ProvisioningEvent) -> str:
    kind = event.resource_type or "resource"
    name = event.identity or (str(event.resource_id) if event.resource_id else "")
    return f"{kind} '{name}'" if name else kind


def warning_of(event: ProvisioningEvent) -> str:
    """The warning of a successful event ('' for none): a success stores nothing else as its detail."""
    return event.detail if event.status == Status.SUCCESS else ""


def steps(event: ProvisioningEvent) -> list[Step]:
    """Request received → resource matched or handled → outcome, each with its own status."""
    received = Step(
        "Request received",
        Status.SUCCESS,
        f"{event.method} {event.path} (request id {event.request_id or '—'}, "
        f"credential: {event.credential or 'none'}, connection: {event.connection.name})",
    )
    label = _resource_label(event)
    if event.http_status in (401, 403):
        handled = Step(
            "Resource", Status.SKIPPED, "Not reached: the credential or the connection was refused."
        )
    elif event.http_status == 404:
        handled = Step("Resource", Status.FAILURE, f"No {label} in this organization.")
    elif event.action == Action.CREATE:
        handled = Step("Resource", Status.SUCCESS, f"Create {label}.")
    elif event.action == Action.LOOKUP:
        handled = Step("Resource", Status.SUCCESS, f"Look up {label}.")
    elif event.action in (Action.UPDATE, Action.DISABLE, Action.ENABLE, Action.DELETE):
        handled = Step("Resource", Status.SUCCESS, f"Matched {label}: {event.action.lower()}.")
    elif event.resource_type:
        handled = Step("Resource", Status.SUCCESS, f"Matched {label}.")
    else:
        handled = Step("Resource", Status.SKIPPED, "The request names no account or group.")
    if event.status == Status.FAILURE:
        error = ": ".join(part for part in (event.scim_type, event.detail) if part)
        outcome = f"HTTP {http_status_text(event.http_status)}" + (f": {error}" if error else "")
    elif event.status == Status.SKIPPED:
        outcome = f"HTTP {http_status_text(event.http_status)}: {event.detail or NO_CHANGE}"
    else:
        changed = len(event.modified_properties)
        outcome = f"HTTP {http_status_text(event.http_status)}" + (
            f": {changed} propert{'y' if changed == 1 else 'ies'} changed" if changed else ""
        )
        if warning_of(event):
            outcome += f". Warning: {warning_of(event)}"
    return [received, handled, Step("Outcome", event.status, outcome)]


def troubleshooting(event: ProvisioningEvent) -> Troubleshooting:
    if event.status != Status.FAILURE:
        warning = warning_of(event)
        advice = NO_CHANGE if event.status == Status.SKIPPED else SUCCEEDED
        advice = SUCCEEDED_WITH_WARNING if warning else advice
        return Troubleshooting(failed=False, error_code="", reason=warning, advice=advice)
    return Troubleshooting(
        failed=True,
        error_code=event.scim_type or f"HTTP {http_status_text(event.http_status)}",
        reason=event.detail,
        advice=advice_for(
            scim_type=event.scim_type, http_status=event.http_status, resource_type=event.resource_type
        ),
    )


def property_value(value) -> str:
    """A modified property's old or new value as text ('' for none)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def modified_properties(event: ProvisioningEvent) -> list[dict]:
    return [
        {
            "name": str(change.get("name", "")),
            "old": property_value(change.get("old")),
            "new": property_value(change.get("new")),
        }
        for change in event.modified_properties or ()
        if isinstance(change, dict)
    ]


ADDRESS_KEYS = (
    "street_address",
    "streetAddress",
    "locality",
    "region",
    "postal_code",
    "postalCode",
    "country",
)


def _element_text(element) -> str:
    """One element of a multi-valued attribute as a person reads it: "a@b.example (work, primary)"."""
    if not isinstance(element, dict):
        return property_value(element)
    text = element.get("value") or element.get("formatted") or ""
    if not text:
        text = ", ".join(str(element[key]) for key in ADDRESS_KEYS if element.get(key))
    text = str(text or element.get("display") or "")
    if not text:
        text = ", ".join(f"{key}: {property_value(item)}" for key, item in element.items())
    notes = ", ".join(
        note for note in (str(element.get("type") or ""), "primary" if element.get("primary") else "") if note
    )
    return f"{text} ({notes})" if notes else text


@dataclass(frozen=True)
class PropertySide:
    """An old or new value on the event page: a text, or the elements of a list one per line."""

    text: str
    items: tuple[str, ...] = ()


def readable_side(value) -> PropertySide:
    if isinstance(value, list):
        return PropertySide(text="", items=tuple(_element_text(element) for element in value))
    if isinstance(value, dict):
        return PropertySide(text=_element_text(value))
    return PropertySide(text=property_value(value))


def readable_properties(event: ProvisioningEvent) -> list[dict]:
    """The modified properties for the event page: multi-valued ones (emails, addresses) as lists."""
    return [
        {
            "name": str(change.get("name", "")),
            "sides": (readable_side(change.get("old")), readable_side(change.get("new"))),
        }
        for change in event.modified_properties or ()
        if isinstance(change, dict)
    ]


def pretty_body(body: str) -> str:
    """The redacted request body, indented when it is JSON (a cut body is shown as stored)."""
    if not body:
        return ""
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body


@dataclass(frozen=True)
class EventDetail:
    steps: list[Step]
    troubleshooting: Troubleshooting
    modified_properties: list[dict]
    readable_properties: list[dict]
    request_body: str
    summary: list[tuple[str, object]]


def event_detail(event: ProvisioningEvent) -> EventDetail:
    """Everything the detail of one event shows (the event needs its connection, organization and cycle)."""
    return EventDetail(
        steps=steps(event),
        troubleshooting=troubleshooting(event),
        modified_properties=modified_properties(event),
        readable_properties=readable_properties(event),
        request_body=pretty_body(event.request_body),
        summary=summary(event),
    )


def summary(event: ProvisioningEvent) -> list[tuple[str, object]]:
    return [
        ("Time", event.created_at),
        ("Organization", event.organization.name),
        ("Connection", event.connection.name),
        ("Request id", event.request_id),
        ("Client address", event.client_address),
        ("Credential", event.credential),
        ("Method", event.method),
        ("Path", event.path),
        ("Resource type", event.resource_type),
        ("Action", event.action),
        ("id", event.resource_id or ""),
        ("externalId", event.external_id),
        ("Identity", event.identity),
        ("Status", event.status),
        ("HTTP status", http_status_text(event.http_status)),
        ("scimType", event.scim_type),
        ("Detail", event.detail),
        ("Duration", f"{event.duration_ms} ms"),
        ("Cycle", _cycle_text(event.cycle)),
    ]


def _cycle_text(cycle) -> str:
    if cycle is None:
        return ""
    return f"{cycle.get_kind_display()} cycle started {cycle.started_at:%Y-%m-%d %H:%M:%S} UTC"
