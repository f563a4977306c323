"""
The admin portal's view of organizations and work accounts.

Organization admins and support staff see only their own organization; only platform superusers
see every organization. Entra owns provisioned attributes, so they are read-only here.
"""

from django.contrib import admin, messages
from django.db.models import Count

from accounts.activity_admin import ActivityRecordingMixin
from accounts.activity_admin import register as register_activity_admin
from accounts.exceptions import AccountsError
from accounts.models import (
    ActivityAction,
    GroupMembership,
    Organization,
    OrganizationRole,
    WorkAccount,
    WorkAccountValue,
    WorkGroup,
)
from accounts.services import account_set_role
from accounts.services.activity import admin_activity_record


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


class WorkAccountValueInline(ReadOnlyInline):
    model = WorkAccountValue
    fields = ("attribute", "type", "primary", "value", "formatted", "locality", "country")
    readonly_fields = fields


class AccountGroupsInline(ReadOnlyInline):
    """The groups an account belongs to (Entra manages them through the Group resource)."""

    model = GroupMembership
    fk_name = "account"
    fields = ("group", "created_at")
    readonly_fields = fields
    verbose_name = "group"
    verbose_name_plural = "groups (managed by Microsoft Entra ID)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("group")


@admin.register(WorkAccount)
class WorkAccountAdmin(OrganizationScopedAdmin):
    list_display = ("user_name", "display_name", "role", "is_active", "organization", "updated_at")
    list_filter = ("role", "is_active")
    search_fields = ("user_name", "display_name", "external_id", "employee_number")
    ordering = ("user_name",)
    inlines = [WorkAccountValueInline, AccountGroupsInline]
    exclude = ("password", "groups", "user_permissions", "security_stamp")
    readonly_fields = [
        f.name
        for f in WorkAccount._meta.get_fields()
        if getattr(f, "concrete", False)
        and f.name not in ("password", "groups", "user_permissions", "security_stamp")
    ]

    actions = ["make_admin", "make_support", "make_member"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(deleted_at__isnull=True).select_related("organization")

    def has_change_permission(self, request, obj=None):
        # Only roles change here (through the actions); Entra owns every provisioned attribute.
        user = request.user
        return user.is_active and (user.is_superuser or user.role == OrganizationRole.ADMIN)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

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
class WorkGroupAdmin(OrganizationScopedAdmin):
    list_display = ("display_name", "external_id", "member_count", "organization", "updated_at")
    search_fields = ("display_name", "external_id")
    ordering = ("display_name",)
    readonly_fields = (
        "id",
        "organization",
        "display_name",
        "external_id",
        "created_at",
        "updated_at",
        "version",
    )
    exclude = ("members",)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("organization")
            .annotate(_members=Count("memberships"))
        )

    @admin.display(description="members", ordering="_members")
    def member_count(self, group):
        return group._members


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin):
    organization_field = "pk"
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")


AdminActivityAdmin = register_activity_admin(OrganizationScopedAdmin)


__all__ = ["OrganizationRole"]
