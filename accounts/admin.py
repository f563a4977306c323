"""
The admin portal's view of organizations and work accounts.

Organization admins and support staff see only their own organization; only platform superusers
see every organization. Entra owns provisioned attributes, so they are read-only here.
"""

import uuid

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils.html import format_html

from accounts.activity_admin import ActivityRecordingMixin
from accounts.activity_admin import register as register_activity_admin
from accounts.exceptions import AccountsError
from accounts.models import (
    ActivityAction,
    Organization,
    OrganizationRole,
    WorkAccount,
    WorkGroup,
)
from accounts.selectors import account_groups, account_profile, group_member_page
from accounts.services import account_set_role
from accounts.services.activity import admin_activity_record
from accounts.templatetags.portal import local_time


class OrganizationScopedAdmin(ActivityRecordingMixin, admin.ModelAdmin):
    """Scopes every list and object to the signed-in user's organization (superusers: all)."""

    organization_field = "organization"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{self.organization_field: request.user.organization_id})

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    """Shown to every portal user who may see the parent; nothing is edited inline."""

    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def truncated(text):
    """A list cell the column may cut with an ellipsis; the whole text stays on hover."""
    if not text:
        return "—"
    return format_html('<span class="cell-truncate" title="{}">{}</span>', text, text)


def account_status(account: WorkAccount) -> str:
    """active, disabled (active false, or removed by the client) or deleted (a SCIM DELETE)."""
    if account.deleted_at is not None:
        return "deleted"
    return "active" if account.is_active else "disabled"


STATUS_BANNERS = {
    "active": ("Active", "This account can sign in."),
    "disabled": ("Disabled", "Microsoft Entra ID disabled this account: it cannot sign in."),
    "deleted": (
        "Deleted",
        "Microsoft Entra ID deleted this account: it is gone for SCIM and cannot sign in; the portal "
        "keeps it for the audit trail.",
    ),
}
ENTRA_MANAGED = "Microsoft Entra ID manages this {kind}: change it in Entra, not here."


class DetailPageMixin:
    """A read-only page designed for people instead of Django's form of every column."""

    def get_object(self, request, object_id, from_field=None):
        # Tombstones too: a deleted account's page (and the log's links to it) stay readable.
        queryset = OrganizationScopedAdmin.get_queryset(self, request)
        try:
            return queryset.get(pk=self.model._meta.pk.to_python(object_id))
        except (self.model.DoesNotExist, ValidationError, ValueError):
            return None

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    # history_view stays Django's: the admin activity trail (who changed a role, and when) is
    # shown there, apart from the provisioning history on the page itself.


@admin.register(WorkAccount)
class WorkAccountAdmin(DetailPageMixin, OrganizationScopedAdmin):
    list_display = ("user_name_label", "display_name_label", "status", "role", "organization", "updated")
    list_display_links = ("user_name_label",)
    list_filter = ("role", "is_active")
    search_fields = ("user_name", "display_name", "external_id", "employee_number")
    ordering = ("user_name",)
    # Nothing is edited on the page (see change_form.html): no form fields, no inlines.
    fields = ()
    actions = ["make_admin", "make_support", "make_member"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(deleted_at__isnull=True).select_related("organization")

    def get_list_display(self, request):
        if request.user.is_superuser:
            return self.list_display
        return tuple(name for name in self.list_display if name != "organization")

    def has_change_permission(self, request, obj=None):
        # Only roles change here (through the actions); Entra owns every provisioned attribute.
        user = request.user
        return user.is_active and (user.is_superuser or user.role == OrganizationRole.ADMIN)

    @admin.display(description="user name", ordering="user_name")
    def user_name_label(self, account):
        return truncated(account.user_name)

    @admin.display(description="display name", ordering="display_name")
    def display_name_label(self, account):
        return truncated(account.display_name)

    @admin.display(description="status")
    def status(self, account):
        status = account_status(account)
        return format_html(
            '<span class="account-status account-status-{}">{}</span>', status, STATUS_BANNERS[status][0]
        )

    @admin.display(description="last changed", ordering="updated_at")
    def updated(self, account):
        return local_time(account.updated_at)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            status = account_status(obj)
            context.update(
                title=obj.display_name or obj.user_name,
                subtitle=obj.user_name,
                account=obj,
                status=status,
                status_title=STATUS_BANNERS[status][0],
                status_text=STATUS_BANNERS[status][1],
                entra_managed=ENTRA_MANAGED.format(kind="account"),
                profile=account_profile(account=obj),
                groups=account_groups(obj),
                manager=obj.manager,
                reports=list(obj.direct_reports.filter(deleted_at__isnull=True).order_by("user_name")[:100]),
                can_change_role=self.has_change_permission(request, obj),
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _set_role(self, request, queryset, role):
        changed = 0
        for account in queryset:
            before = account.get_role_display()
            try:
                if account_set_role(account=account, role=role).role == role:
                    changed += 1
                    if before != OrganizationRole(role).label:
                        admin_activity_record(
                            action=ActivityAction.ROLE_CHANGED,
                            summary=(
                                f"Role of {account.user_name}: {before} → {OrganizationRole(role).label}."
                            ),
                            target=account,
                            request=request,
                        )
            except AccountsError as exc:
                self.message_user(
                    request, f"Role of {account.user_name} not changed: {exc.message}", messages.ERROR
                )
        if changed:
            label = OrganizationRole(role).label
            self.message_user(request, f"{changed} account(s) now have the {label} role.", messages.SUCCESS)

    @admin.action(
        permissions=["change"], description="Give the Admin role (manage the organization, authorize Entra)"
    )
    def make_admin(self, request, queryset):
        self._set_role(request, queryset, OrganizationRole.ADMIN)

    @admin.action(permissions=["change"], description="Give the Support role (read-only portal access)")
    def make_support(self, request, queryset):
        self._set_role(request, queryset, OrganizationRole.SUPPORT)

    @admin.action(
        permissions=["change"],
        description="Give the Member role (no portal access; revokes what they authorized)",
    )
    def make_member(self, request, queryset):
        self._set_role(request, queryset, OrganizationRole.MEMBER)


@admin.register(WorkGroup)
class WorkGroupAdmin(DetailPageMixin, OrganizationScopedAdmin):
    list_display = ("display_name_label", "external_id_label", "member_count", "organization", "updated")
    list_display_links = ("display_name_label",)
    search_fields = ("display_name", "external_id")
    ordering = ("display_name",)
    fields = ()

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("organization")
            .annotate(_members=Count("memberships"))
        )

    def get_list_display(self, request):
        if request.user.is_superuser:
            return self.list_display
        return tuple(name for name in self.list_display if name != "organization")

    @admin.display(description="display name", ordering="display_name")
    def display_name_label(self, group):
        return truncated(group.display_name)

    @admin.display(description="source id (externalId)", ordering="external_id")
    def external_id_label(self, group):
        return truncated(group.external_id)

    @admin.display(description="members", ordering="_members")
    def member_count(self, group):
        return f"{group._members:,}"

    @admin.display(description="last changed", ordering="updated_at")
    def updated(self, group):
        return local_time(group.updated_at)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            page = group_member_page(group=obj, after=_uuid_or_none(request.GET.get(MEMBERS_AFTER)))
            context.update(
                title=obj.display_name,
                subtitle="Group",
                group=obj,
                entra_managed=ENTRA_MANAGED.format(kind="group"),
                member_page=page,
                members_after_var=MEMBERS_AFTER,
                first_page=MEMBERS_AFTER not in request.GET,
                profile=[
                    ("Display name", "displayName", obj.display_name),
                    ("Source id", "externalId", obj.external_id),
                    ("Id", "id", str(obj.pk)),
                ],
            )
        return super().render_change_form(request, context, add, change, form_url, obj)


MEMBERS_AFTER = "after"


def _uuid_or_none(text):
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin):
    organization_field = "pk"
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")


AdminActivityAdmin = register_activity_admin(OrganizationScopedAdmin)


__all__ = ["OrganizationRole"]
