"""
The provisioning log's admin pages: the event list and detail, exports, the dashboard, the
provisioning history on the account and group pages, and the health part of the connection page.
"""

from django.contrib import admin

from provisioning_logs.admin.accounts import ProvisionedWorkAccountAdmin, ProvisionedWorkGroupAdmin
from provisioning_logs.admin.api_clients import ApiClientAdmin
from provisioning_logs.admin.connections import ProvisioningConnectionHealthAdmin
from provisioning_logs.admin.events import ProvisioningEventAdmin


# The index gets a "Provisioning dashboard" link; the template extends Django's own index.
admin.site.index_template = "admin/work_accounts_index.html"

__all__ = [
    "ApiClientAdmin",
    "ProvisionedWorkAccountAdmin",
    "ProvisionedWorkGroupAdmin",
    "ProvisioningConnectionHealthAdmin",
    "ProvisioningEventAdmin",
]
