"""
A user provisioned with a manager that is not an account of the organization yet (issue 14): the
request is a success in the provisioning log, with a warning an admin sees in the list, the
event's steps and troubleshooting, and the audit API's detail.
"""

import re

import pytest
from django.utils.html import escape

from accounts.services import MANAGER_UNRESOLVED
from provisioning_logs.event_detail import SUCCEEDED_WITH_WARNING, Step, Troubleshooting, event_detail
from provisioning_logs.models import ProvisioningEvent
from tests.conftest import entra_user


pytestmark = pytest.mark.django_db

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_URL = "/admin/provisioning_logs/provisioningevent/"
WARNING = MANAGER_UNRESOLVED.format(reference="271")


def last_event() -> ProvisioningEvent:
    return ProvisioningEvent.objects.order_by("id").last()


def create_with_manager(scim, manager) -> dict:
    response = scim.post("/Users", entra_user("joy@contoso.com", **{ENTERPRISE: {"manager": manager}}))
    assert response.status_code == 201
    return response.body


def test_the_warning_names_the_reference_and_what_happens_next():
    assert WARNING == (
        "manager '271' is not a work account of this organization yet: the account is kept without a "
        "manager, and the manager is linked as soon as an account with this id or externalId is "
        "provisioned."
    )


def test_create_with_unresolved_manager_is_a_success_with_the_warning_as_detail(scim):
    create_with_manager(scim, "271")

    event = last_event()
    assert (event.action, event.status, event.http_status, event.detail) == (
        "Create",
        "Success",
        201,
        WARNING,
    )
    assert {"name": "manager", "old": None, "new": "271"} in event.modified_properties
    assert event.reference_failure is False


def test_patch_with_unresolved_manager_is_a_success_with_the_warning(scim, create_user):
    user = create_user("joy@contoso.com")
    operation = {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "271"}

    scim.patch(f"/Users/{user['id']}", {"schemas": [PATCH_OP], "Operations": [operation]})

    event = last_event()
    assert (event.action, event.status, event.detail) == ("Update", "Success", WARNING)
    assert event.modified_properties == [{"name": "manager", "old": None, "new": "271"}]


def test_linked_manager_logs_no_warning(scim, create_user):
    boss = create_user("boss@contoso.com")

    create_with_manager(scim, boss["id"])

    event = last_event()
    assert (event.status, event.detail) == ("Success", "")
    assert {"name": "manager", "old": None, "new": boss["id"]} in event.modified_properties


def test_request_that_leaves_an_unresolved_manager_as_it_was_logs_no_warning(scim):
    user = create_with_manager(scim, "271")
    operation = {"op": "Replace", "path": "displayName", "value": "Joy"}

    scim.patch(f"/Users/{user['id']}", {"schemas": [PATCH_OP], "Operations": [operation]})

    assert (last_event().status, last_event().detail) == ("Success", "")


def test_event_detail_shows_the_warning_in_the_outcome_and_troubleshooting(scim):
    create_with_manager(scim, "271")

    detail = event_detail(last_event())

    assert detail.steps[-1] == Step(
        "Outcome", "Success", f"HTTP 201 Created: 8 properties changed. Warning: {WARNING}"
    )
    assert detail.troubleshooting == Troubleshooting(
        failed=False, error_code="", reason=WARNING, advice=SUCCEEDED_WITH_WARNING
    )


def test_log_list_shows_a_warning_badge_beside_success(scim, admin_browser):
    create_with_manager(scim, "271")

    html = admin_browser.get(LIST_URL).content.decode()

    row = html.split("<tbody>")[1].split("</tr>")[0]
    status = re.search(r'<td class="field-status_label">(.*?)</td>', row, re.S).group(1)
    assert status == (
        '<span class="event-status event-status-success">Success</span> '
        f'<span class="event-status event-status-warning" title="{escape(WARNING)}">Warning</span>'
    )


def test_log_list_shows_no_badge_without_a_warning(scim, admin_browser, create_user):
    create_user("joy@contoso.com")

    html = admin_browser.get(LIST_URL).content.decode()

    assert "event-status-warning" not in html


def test_event_page_shows_the_warning(scim, admin_browser):
    create_with_manager(scim, "271")

    html = admin_browser.get(f"{LIST_URL}{last_event().pk}/change/").content.decode()

    assert '<span class="event-status event-status-warning" id="event-warning-badge">Warning</span>' in html
    paragraph = '<p class="event-warning" id="event-warning" role="status">'
    assert f"{paragraph}<strong>Warning:</strong> {escape(WARNING)}</p>" in html
    assert f'<p id="error-advice">{escape(SUCCEEDED_WITH_WARNING)}</p>' in html
