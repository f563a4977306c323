"""
The provisioning log in the admin portal: a read-only list of events (filters, search, export) and
an event's detail page with Entra's four tabs. Organization admins and support staff read their
own organization's events; nobody adds, changes or deletes one, superusers included.
"""

from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.views.main import SEARCH_VAR
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_safe

from accounts.admin import OrganizationScopedAdmin
from accounts.models import WorkAccount, WorkGroup
from accounts.templatetags.portal import local_time
from provisioning_logs.admin import dashboard, exports
from provisioning_logs.admin.filters import ConnectionFilter, ResourceTypeFilter, TimeRangeFilter
from provisioning_logs.admin.onboarding import first_run_checklist
from provisioning_logs.admin.paging import CappedPaginator, EventChangeList, page_number_of
from provisioning_logs.event_detail import event_detail, warning_of
from provisioning_logs.models import ProvisioningEvent
from provisioning_logs.selectors import event_search, reader_scope


SEARCH_HELP = (
    "Search by the start of a userName or displayName (any case) or of an externalId, or by an id "
    "or request id; a GUID finds the events of the account or group with that id or externalId."
)


def truncated(text: str):
    """A cell that the column width may cut with an ellipsis; the whole text stays on hover."""
    if not text:
        return "—"
    return format_html('<span class="cell-truncate" title="{}">{}</span>', text, text)


def event_object_url(event: ProvisioningEvent) -> str | None:
    """The portal page of the event's account or group, if it still exists (tombstones included)."""
    model = {"User": WorkAccount, "Group": WorkGroup}.get(event.resource_type)
    if model is None or event.resource_id is None:
        return None
    if not model.objects.filter(pk=event.resource_id, organization_id=event.organization_id).exists():
        return None
    return reverse(f"admin:accounts_{model._meta.model_name}_change", args=[event.resource_id])


def identity_events_url(event: ProvisioningEvent) -> str | None:
    """The log searched for the event's object: by its id when known, else by the name looked up."""
    term = str(event.resource_id) if event.resource_id else event.identity
    if not term:
        return None
    changelist = reverse("admin:provisioning_logs_provisioningevent_changelist")
    return f"{changelist}?{urlencode({SEARCH_VAR: term})}"


@admin.register(ProvisioningEvent)
class ProvisioningEventAdmin(OrganizationScopedAdmin):
    list_display = (
        "time",
        "action",
        "resource_type_label",
        "identity_label",
        "status_label",
        "http_status",
        "source_id",
        "target_id",
        "connection_name",
        "duration",
    )
    list_display_links = ("time",)
    list_filter = (
        "status",
        "action",
        ("connection", ConnectionFilter),
        ResourceTypeFilter,
        TimeRangeFilter,
    )
    list_select_related = ("connection", "organization")
    # The search box needs a field; get_search_results decides what a query matches.
    search_fields = ("identity",)
    search_help_text = SEARCH_HELP
    # Served by the (organization | connection | organization, status | created_at) indexes.
    ordering = ("-created_at", "-id")
    sortable_by = ()
    list_per_page = 50
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = None
    change_list_template = "admin/provisioning_logs/provisioningevent/change_list.html"
    change_form_template = "admin/provisioning_logs/provisioningevent/change_form.html"

    # Read-only for everyone: the log is the audit trail of what Entra did.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_list_display(self, request):
        if request.user.is_superuser:
            return (*self.list_display[:-2], "organization", *self.list_display[-2:])
        return self.list_display

    def get_changelist(self, request, **kwargs):
        return EventChangeList

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        return CappedPaginator(
            queryset, per_page, orphans, allow_empty_first_page, page_number=page_number_of(request)
        )

    def get_search_results(self, request, queryset, search_term):
        return event_search(queryset, term=search_term, scope=reader_scope(user=request.user)), False

    # Columns ---------------------------------------------------------------------------------------

    @admin.display(description="time")
    def time(self, event):
        return local_time(event.created_at)

    @admin.display(description="resource type")
    def resource_type_label(self, event):
        return event.resource_type or "—"

    @admin.display(description="identity")
    def identity_label(self, event):
        return truncated(
            event.identity or event.external_id or (str(event.resource_id) if event.resource_id else "")
        )

    @admin.display(description="source id")
    def source_id(self, event):
        """Entra's "Source ID" column: the object's id in Entra, sent here as externalId."""
        return truncated(event.external_id)

    @admin.display(description="target id")
    def target_id(self, event):
        """Entra's "Target ID" column: our id of the account or group."""
        return truncated(str(event.resource_id) if event.resource_id else "")

    @admin.display(description="status")
    def status_label(self, event):
        status = format_html(
            '<span class="event-status event-status-{}">{}</span>', event.status.lower(), event.status
        )
        warning = warning_of(event)
        if not warning:
            return status
        return format_html(
            '{} <span class="event-status event-status-warning" title="{}">Warning</span>', status, warning
        )

    @admin.display(description="connection")
    def connection_name(self, event):
        return truncated(event.connection.name)

    @admin.display(description="duration")
    def duration(self, event):
        return f"{event.duration_ms} ms"

    # Pages -----------------------------------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "title": "Provisioning logs",
            "export_row_limit": f"{exports.EXPORT_ROW_LIMIT:,}",
            "checklist": first_run_checklist(user=request.user, request=request),
        }
        return super().changelist_view(request, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(
                title="Provisioning event",
                subtitle=str(obj),
                event=obj,
                event_object_url=event_object_url(obj),
                identity_events_url=identity_events_url(obj),
            )
            detail = event_detail(obj)
            context.update(
                steps=detail.steps,
                troubleshooting=detail.troubleshooting,
                modified_properties=detail.readable_properties,
                summary=detail.summary,
                request_body=detail.request_body,
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name

        def view(function):
            return self.admin_site.admin_view(require_safe(function))

        return [
            path("export.csv", view(self.export_csv_view), name="{}_{}_export_csv".format(*info)),
            path("export.json", view(self.export_json_view), name="{}_{}_export_json".format(*info)),
            path("dashboard/", view(self.dashboard_view), name="{}_{}_dashboard".format(*info)),
            *super().get_urls(),
        ]

    def export_csv_view(self, request):
        return exports.export_view(self, request, exports.CSV)

    def export_json_view(self, request):
        return exports.export_view(self, request, exports.JSON)

    def dashboard_view(self, request):
        return dashboard.dashboard_view(self, request)
