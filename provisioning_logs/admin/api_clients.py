"""
"API clients" in the admin portal: organization admins create the machine clients of the audit
API (the client secret is shown once, on the page after Save) and revoke them; support staff
read the list. Nothing else about a client is edited.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from accounts.admin import OrganizationScopedAdmin
from accounts.exceptions import AccountsError
from accounts.models import ActivityAction, OrganizationRole
from accounts.services.activity import admin_activity_record
from accounts.sso.locations import portal_base
from provisioning_logs.api.clients import api_client_create, api_client_revoke, api_client_settings
from provisioning_logs.api.forms import ApiClientForm
from provisioning_logs.api.models import ApiClient


def may_manage(request) -> bool:
    user = request.user
    return user.is_active and (user.is_superuser or user.role == OrganizationRole.ADMIN)


@admin.register(ApiClient)
class ApiClientAdmin(OrganizationScopedAdmin):
    list_display = ("name", "client_id", "status", "organization", "created_by", "created_at", "last_used_at")
    list_select_related = ("organization", "created_by")
    readonly_fields = (
        "organization",
        "name",
        "client_id",
        "status",
        "scope",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
        "revoked_by",
    )
    fields = readonly_fields
    ordering = ("organization__name", "name", "-created_at")
    change_form_template = "admin/provisioning_logs/apiclient/change_form.html"
    change_list_template = "admin/provisioning_logs/apiclient/change_list.html"

    def has_add_permission(self, request):
        return may_manage(request)

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="status")
    def status(self, client):
        return "Active" if client.active else f"Revoked {client.revoked_at:%Y-%m-%d %H:%M} UTC"

    @admin.display(description="scope")
    def scope(self, client):
        return "audit:read"

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        fixed = None if request.user.is_superuser else request.user.organization
        form = ApiClientForm(request.POST or None, organization=fixed)
        if request.method == "POST" and form.is_valid():
            try:
                issued = api_client_create(
                    organization=form.target_organization,
                    name=form.cleaned_data["name"],
                    created_by=request.user,
                )
            except AccountsError as exc:
                form.add_error(None, exc.message)
            else:
                admin_activity_record(
                    action=ActivityAction.API_CLIENT_CREATED,
                    summary=f"Created API client {issued.client.name}.",
                    target=issued.client,
                    request=request,
                )
                return self._created_page(request, issued)
        context = {
            **self.admin_site.each_context(request),
            "title": "Add API client",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/provisioning_logs/apiclient/add.html", context)

    def _created_page(self, request, issued):
        context = {
            **self.admin_site.each_context(request),
            "title": "API client created",
            "client": issued.client,
            "settings": api_client_settings(issued, portal_base(request)),
            "opts": self.model._meta,
        }
        response = TemplateResponse(request, "admin/provisioning_logs/apiclient/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "may_revoke": may_manage(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path(
                "<int:client_id>/revoke/",
                self.admin_site.admin_view(require_POST(self.revoke_view)),
                name="provisioning_logs_apiclient_revoke",
            ),
            *super().get_urls(),
        ]

    def revoke_view(self, request, client_id: int):
        if not may_manage(request):
            raise PermissionDenied
        client = self.get_queryset(request).filter(pk=client_id).first()
        if client is None:
            raise Http404
        if api_client_revoke(client=client, actor=request.user):
            admin_activity_record(
                action=ActivityAction.API_CLIENT_REVOKED,
                summary=f"Revoked API client {client.name}.",
                target=client,
                request=request,
            )
            messages.success(request, f"API client {client.name} revoked: its tokens no longer work.")
        else:
            messages.info(request, f"API client {client.name} was revoked already.")
        return HttpResponseRedirect(reverse("admin:provisioning_logs_apiclient_change", args=[client.pk]))
