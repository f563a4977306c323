"""
Work accounts and groups with their provisioning history. accounts must not import
provisioning_logs, so the history is added here, by re-registering subclasses of accounts' own
admins (their actions and permissions unchanged).
"""

from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.views.main import SEARCH_VAR
from django.urls import reverse

from accounts.admin import WorkAccountAdmin, WorkGroupAdmin
from accounts.models import WorkAccount, WorkGroup
from provisioning_logs.selectors import HISTORY_LIMIT, event_history


class ProvisioningHistoryMixin:
    """Adds the object's last provisioning events and a link to all of them in the log."""

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            changelist = reverse("admin:provisioning_logs_provisioningevent_changelist")
            context.update(
                provisioning_history=event_history(obj=obj),
                history_limit=HISTORY_LIMIT,
                history_search_url=f"{changelist}?{urlencode({SEARCH_VAR: str(obj.pk)})}",
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
