"""
The admin activity trail in the portal: the organization-wide "Admin activity" list (admins and
support staff read it, nobody edits it), and the hooks that record Django admin's own saves.
"""

from django.contrib import admin

from accounts.models import ActivityAction, AdminActivity
from accounts.services.activity import admin_activity_record


class ActivityRecordingMixin:
    """Django admin's add, change and delete also go to the trail, with organization and address."""

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        admin_activity_record(
            action=ActivityAction.ADDED,
            summary=f"Added {obj._meta.verbose_name} “{obj}”.",
            target=obj,
            request=request,
            log_entry=False,
        )
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        changed = entry.get_change_message() if entry else ""
        admin_activity_record(
            action=ActivityAction.CHANGED,
            summary=f"Changed {obj._meta.verbose_name} “{obj}”: {changed or 'no field changed'}",
            target=obj,
            request=request,
            log_entry=False,
        )
        return entry

    def log_deletions(self, request, queryset):
        for obj in queryset:
            admin_activity_record(
                action=ActivityAction.DELETED,
                summary=f"Deleted {obj._meta.verbose_name} “{obj}”.",
                target=obj,
                request=request,
                log_entry=False,
            )
        return super().log_deletions(request, queryset)


def register(scoped_admin_class):
    @admin.register(AdminActivity)
    class AdminActivityAdmin(scoped_admin_class):
        list_display = ("at", "actor_name", "action", "summary", "target_repr", "client_address", "source")
        list_display_links = None
        list_filter = ("action", "source")
        search_fields = ("actor_name", "summary", "target_repr")
        date_hierarchy = "at"

        def get_queryset(self, request):
            return super().get_queryset(request).select_related("organization")

        def get_list_display(self, request):
            shown = list(self.list_display)
            return [*shown, "organization"] if request.user.is_superuser else shown

        def has_add_permission(self, request):
            return False

        def has_change_permission(self, request, obj=None):
            return False

        def has_delete_permission(self, request, obj=None):
            return False

    return AdminActivityAdmin
