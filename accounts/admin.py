"""
The admin portal's view of organizations and work accounts.

Organization admins and support staff see only their own organization; only platform superusers
see every organization. Entra owns provisioned attributes, so they are read-only here.
"""

from django.contrib import admin
from django.db.models import Count

from accounts.models import (
    GroupMembership,
    Organization,
    OrganizationRole,
    WorkAccount,
    WorkAccountValue,
    WorkGroup,
)


class OrganizationScopedAdmin(admin.ModelAdmin):
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

    def get_queryset(self, request):
        return super().get_queryset(request).filter(deleted_at__isnull=True).select_related("organization")


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


__all__ = ["OrganizationRole"]
