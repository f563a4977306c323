"""
Single sign-on configurations in the admin portal: an organization's admins set theirs up (the
identity provider from Entra's federation metadata, which attribute names the account, "require
single sign-on") and read what to enter in Entra; support staff read it; superusers see all.
Registered from AccountsConfig.ready(), beside accounts.admin.
"""

from django.contrib import admin
from django.http import Http404, HttpResponse
from django.urls import path, reverse

from accounts.admin import OrganizationScopedAdmin
from accounts.models import OrganizationRole, SsoConfiguration
from accounts.sso.forms import SsoConfigurationForm
from accounts.sso.locations import portal_base, sp_acs_url, sp_entity_id
from accounts.sso.services import sso_configuration_save


IDP_FIELDSET = (
    "Identity provider (Microsoft Entra ID)",
    {
        "fields": ["metadata_file", "idp_metadata_xml", "idp_entity_id", "idp_sso_url", "idp_certificate"],
        "description": "Upload or paste Entra's Federation Metadata XML; or leave both empty and enter "
        "the Microsoft Entra Identifier, the Login URL and the signing certificate (Base64) yourself.",
    },
)
READ_ONLY_FIELDSETS = [
    (None, {"fields": ["organization", "enabled"]}),
    (
        "Identity provider (Microsoft Entra ID)",
        {"fields": ["idp_entity_id", "idp_sso_url", "idp_certificate"]},
    ),
    ("Sign-in", {"fields": ["identifier", "require_sso_for_non_admins", "want_signed_authn_request"]}),
]


def _may_manage(request) -> bool:
    user = request.user
    return user.is_active and (user.is_superuser or user.role == OrganizationRole.ADMIN)


@admin.register(SsoConfiguration)
class SsoConfigurationAdmin(OrganizationScopedAdmin):
    form = SsoConfigurationForm
    list_display = ("organization", "enabled", "idp_entity_id", "identifier", "require_sso_for_non_admins")
    list_select_related = ("organization",)
    change_form_template = "admin/accounts/ssoconfiguration/change_form.html"

    def has_add_permission(self, request):
        if not _may_manage(request):
            return False
        if request.user.is_superuser:
            return True
        return not SsoConfiguration.objects.filter(organization_id=request.user.organization_id).exists()

    def has_change_permission(self, request, obj=None):
        return _may_manage(request)

    def has_delete_permission(self, request, obj=None):
        return _may_manage(request)

    def get_readonly_fields(self, request, obj=None):
        # Only a superuser adding a configuration picks the organization.
        return () if obj is None and request.user.is_superuser else ("organization",)

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            return READ_ONLY_FIELDSETS
        return [
            (None, {"fields": ["organization", "enabled"]}),
            IDP_FIELDSET,
            (
                "Sign-in",
                {
                    "fields": [
                        "identifier_kind",
                        "identifier_claim",
                        "require_sso_for_non_admins",
                        "want_signed_authn_request",
                    ]
                },
            ),
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        organization = None if request.user.is_superuser else request.user.organization

        class ScopedForm(form):
            def __init__(self, *args, **form_kwargs):
                super().__init__(*args, organization=organization, **form_kwargs)

        return ScopedForm

    def save_model(self, request, obj, form, change):
        sso_configuration_save(configuration=obj)

    def _service_provider(self, request, organization) -> dict:
        base = portal_base(request)
        return {
            "entity_id": sp_entity_id(organization, base),
            "acs_url": sp_acs_url(organization, base),
            "signin_url": base + reverse("signin"),
        }

    def add_view(self, request, form_url="", extra_context=None):
        # One configuration per organization: no "Save and add another".
        extra_context = {**(extra_context or {}), "show_save_and_add_another": False}
        organization = None if request.user.is_superuser else request.user.organization
        if organization is not None:
            extra_context["sp"] = self._service_provider(request, organization)
        return super().add_view(request, form_url, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        configuration = self.get_object(request, object_id)
        if configuration is not None:
            sp = self._service_provider(request, configuration.organization)
            sp.update(
                metadata_url=reverse("sso-metadata", args=[configuration.organization.slug]) + "?download",
                certificate_url=reverse(
                    "admin:accounts_ssoconfiguration_sp_certificate", args=[configuration.pk]
                ),
            )
            extra_context = {**(extra_context or {}), "sp": sp}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path(
                "<int:configuration_id>/sp-certificate/",
                self.admin_site.admin_view(self.sp_certificate_view),
                name="accounts_ssoconfiguration_sp_certificate",
            ),
            *super().get_urls(),
        ]

    def sp_certificate_view(self, request, configuration_id):
        """Our signing certificate, for Entra's "Verification certificates" (signed requests)."""
        configuration = self.get_queryset(request).filter(pk=configuration_id).first()
        if configuration is None or not self.has_view_permission(request, configuration):
            raise Http404
        response = HttpResponse(configuration.sp_certificate, content_type="application/x-x509-ca-cert")
        filename = f"{configuration.organization.slug}-meta-work-accounts.cer"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
