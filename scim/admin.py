"""
Provisioning connections in the admin portal: organization admins issue and revoke the secret
tokens Entra uses ("Secret Token"), each shown once; support staff only read.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from accounts.admin import OrganizationScopedAdmin, ReadOnlyInline
from accounts.exceptions import AccountsError
from accounts.models import OrganizationRole
from scim.locations import scim_base_url
from scim.models import ProvisioningConnection, ScimSecretToken
from scim.services import scim_token_create, scim_token_revoke


def may_manage(request) -> bool:
    user = request.user
    return user.is_active and (user.is_superuser or user.role == OrganizationRole.ADMIN)


class SecretTokenInline(ReadOnlyInline):
    model = ScimSecretToken
    fields = ("label", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    verbose_name_plural = "secret tokens (the token itself is shown only once, when issued)"


@admin.register(ProvisioningConnection)
class ProvisioningConnectionAdmin(OrganizationScopedAdmin):
    list_display = ("name", "organization", "enabled", "active_tokens", "created_at")
    readonly_fields = ("organization", "name", "application", "created_at")
    fields = ("organization", "name", "enabled", "application", "created_at")
    inlines = [SecretTokenInline]
    change_form_template = "admin/scim/provisioningconnection/change_form.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("organization")
            .annotate(_active_tokens=Count("tokens", filter=Q(tokens__revoked_at__isnull=True)))
        )

    def has_change_permission(self, request, obj=None):
        return may_manage(request)

    @admin.display(description="active secret tokens", ordering="_active_tokens")
    def active_tokens(self, connection):
        return connection._active_tokens

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "tenant_url": scim_base_url(request) + "/"}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path(
                "<int:connection_id>/tokens/new/",
                self.admin_site.admin_view(require_POST(self.issue_token_view)),
                name="scim_provisioningconnection_issue_token",
            ),
            path(
                "<int:connection_id>/tokens/<int:token_id>/revoke/",
                self.admin_site.admin_view(require_POST(self.revoke_token_view)),
                name="scim_provisioningconnection_revoke_token",
            ),
            *super().get_urls(),
        ]

    def _connection(self, request, connection_id: int) -> ProvisioningConnection:
        if not may_manage(request):
            raise PermissionDenied
        connection = self.get_queryset(request).filter(pk=connection_id).first()
        if connection is None:
            raise Http404
        return connection

    def issue_token_view(self, request, connection_id: int):
        connection = self._connection(request, connection_id)
        label = request.POST.get("label", "").strip() or None
        try:
            issued = scim_token_create(
                organization=connection.organization, label=label, connection_name=connection.name
            )
        except AccountsError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(
                reverse("admin:scim_provisioningconnection_change", args=[connection.pk])
            )
        context = {
            **self.admin_site.each_context(request),
            "title": "Secret token issued",
            "connection": connection,
            "token": issued.token,
            "secret": issued.secret,
            "tenant_url": scim_base_url(request) + "/",
            "opts": self.model._meta,
        }
        response = TemplateResponse(request, "admin/scim/secret_token_issued.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def revoke_token_view(self, request, connection_id: int, token_id: int):
        connection = self._connection(request, connection_id)
        token = connection.tokens.filter(pk=token_id, revoked_at__isnull=True).first()
        if token is None:
            raise Http404
        scim_token_revoke(organization=connection.organization, label=token.label)
        messages.success(request, f"Token {token.label} revoked; Entra can no longer use it.")
        return HttpResponseRedirect(reverse("admin:scim_provisioningconnection_change", args=[connection.pk]))
