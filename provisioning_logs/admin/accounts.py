"""
Work accounts and groups with their provisioning history. accounts must not import
provisioning_logs, so the history is added here, by re-registering subclasses of accounts' own
admins (their actions and permissions unchanged).
"""

from django.contrib import admin

from accounts.admin import WorkAccountAdmin, WorkGroupAdmin
from accounts.models import WorkAccount, WorkGroup
from provisioning_logs.selectors import HISTORY_LIMIT, event_history


ENTRA_MANAGED_NOTE = "Microsoft Entra ID manages these fields; change them in Entra, not here."


class ProvisioningHistoryMixin:
    """Adds the note that Entra owns the fields and the object's last provisioning events."""

    change_form_template = "admin/provisioning_logs/provisioned_change_form.html"

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(
                entra_managed_note=ENTRA_MANAGED_NOTE,
                provisioning_history=event_history(obj=obj),
                history_limit=HISTORY_LIMIT,
            )
        return super().render_change_form(request, context, add, change, form_url, obj)


admin.site.unregister(WorkAccount)
admin.site.unregister(WorkGroup)


@admin.register(WorkAccount)
class ProvisionedWorkAccountAdmin(ProvisioningHistoryMixin, WorkAccountAdmin):
    pass


@admin.register(WorkGroup)
class ProvisionedWorkGroupAdmin(ProvisioningHistoryMixin, WorkGroupAdmin):
    pass
