"""
The provisioning log in the admin portal: a read-only list of events (filters, search, export) and
an event's detail page with Entra's four tabs. Organization admins and support staff read their
own organization's events; nobody adds, changes or deletes one, superusers included.
"""

from django.contrib import admin
from django.urls import path
from django.utils.html import format_html
from django.views.decorators.http import require_safe

from accounts.admin import OrganizationScopedAdmin
from provisioning_logs.admin import dashboard, exports
from provisioning_logs.admin.filters import ConnectionFilter, ResourceTypeFilter, TimeRangeFilter
from provisioning_logs.admin.paging import CappedPaginator, EventChangeList, page_number_of
from provisioning_logs.event_detail import event_detail
from provisioning_logs.models import ProvisioningEvent
from provisioning_logs.selectors import event_search, reader_scope


SEARCH_HELP = (
    "Search by a whole userName or displayName (any case), externalId, id or request id; "
    "a GUID finds the events of the account or group with that id or externalId."
)


@admin.register(ProvisioningEvent)
class ProvisioningEventAdmin(OrganizationScopedAdmin):
    list_display = (
        "time",
        "action",
        "resource_type_label",
        "identity_label",
        "status_label",
        "http_status",
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
        return f"{event.created_at:%Y-%m-%d %H:%M:%S} UTC"

    @admin.display(description="resource type")
    def resource_type_label(self, event):
        return event.resource_type or "—"

    @admin.display(description="identity")
    def identity_label(self, event):
        return event.identity or event.external_id or (str(event.resource_id) if event.resource_id else "—")

    @admin.display(description="status")
    def status_label(self, event):
        return format_html(
            '<span class="event-status event-status-{}">{}</span>', event.status.lower(), event.status
        )

    @admin.display(description="connection")
    def connection_name(self, event):
        return event.connection.name

    @admin.display(description="duration")
    def duration(self, event):
        return f"{event.duration_ms} ms"

    # Pages -----------------------------------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "title": "Provisioning logs",
            "export_row_limit": f"{exports.EXPORT_ROW_LIMIT:,}",
        }
        return super().changelist_view(request, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(
                title="Provisioning event",
                subtitle=str(obj),
                event=obj,
            )
            detail = event_detail(obj)
            context.update(
                steps=detail.steps,
                troubleshooting=detail.troubleshooting,
                modified_properties=detail.modified_properties,
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
