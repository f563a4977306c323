"""
The provisioning connection page with its health: quarantine state and timeline, notification
settings and outbox, thresholds and the held deprovisionings. accounts must not import
provisioning_logs, so these are added here by re-registering a subclass of accounts' own
connection admin (its token and Connect screens unchanged).
"""

from django.contrib import admin, messages
from django.urls import path
from django.views.decorators.http import require_POST

from accounts.connections.admin import ProvisioningConnectionAdmin
from accounts.connections.models import ProvisioningConnection
from provisioning_logs.connection_settings import THRESHOLD_FIELDS, health_thresholds_save
from provisioning_logs.forms import HealthThresholdsForm, NotificationSettingsForm
from provisioning_logs.guard import staged_decide
from provisioning_logs.health import health_clear
from provisioning_logs.health_summary import health_summary
from provisioning_logs.notifications import notification_send_test, notification_settings_save


admin.site.unregister(ProvisioningConnection)


@admin.register(ProvisioningConnection)
class ProvisioningConnectionHealthAdmin(ProvisioningConnectionAdmin):
    change_form_template = "admin/provisioning_logs/provisioningconnection_change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        connection = self.get_queryset(request).filter(pk=object_id).first() if object_id.isdigit() else None
        if connection is not None:
            summary = health_summary(connection)
            settings_row = summary.own_settings
            extra_context.update(
                health=summary,
                notification_form=NotificationSettingsForm(
                    initial={
                        "addresses": settings_row.addresses if settings_row else "",
                        "send_on_failure": summary.send_on_failure,
                        "digest_interval_minutes": summary.digest_interval_minutes,
                    }
                ),
                thresholds_form=HealthThresholdsForm(
                    initial={name: getattr(summary.health, name) for name in THRESHOLD_FIELDS}
                ),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            *[
                path(
                    f"<int:connection_id>/{suffix}/",
                    self.admin_site.admin_view(require_POST(view)),
                    name=f"accounts_provisioningconnection_{name}",
                )
                for suffix, view, name in (
                    ("notifications", self.notifications_view, "notifications"),
                    ("notifications/test", self.test_email_view, "test_email"),
                    ("health/clear", self.clear_quarantine_view, "clear_quarantine"),
                    ("health/thresholds", self.thresholds_view, "thresholds"),
                    ("staged/approve", self.approve_staged_view, "approve_staged"),
                    ("staged/discard", self.discard_staged_view, "discard_staged"),
                )
            ],
            *super().get_urls(),
        ]

    # Health, notifications and held deprovisionings --------------------------------------------

    def notifications_view(self, request, connection_id: int):
        connection = self._connection(request, connection_id)
        form = NotificationSettingsForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, f"Notification settings not saved: {error}")
            return self._back(connection)
        as_default = request.POST.get("scope") == "organization"
        notification_settings_save(
            connection=None if as_default else connection,
            organization=connection.organization,
            **form.cleaned_data,
        )
        messages.success(
            request,
            f"Saved as the default for all connections of {connection.organization.name}."
            if as_default
            else "Notification settings saved.",
        )
        return self._back(connection)

    def test_email_view(self, request, connection_id: int):
        connection = self._connection(request, connection_id)
        summary = health_summary(connection)
        accepted, report = notification_send_test(connection=connection, addresses=summary.addresses)
        messages.add_message(request, messages.SUCCESS if accepted else messages.ERROR, report)
        return self._back(connection)

    def clear_quarantine_view(self, request, connection_id: int):
        connection = self._connection(request, connection_id)
        if health_clear(connection=connection, actor=request.user):
            messages.success(request, "Quarantine cleared. The connection is healthy again.")
        else:
            messages.info(request, "The connection was not in quarantine.")
        return self._back(connection)

    def thresholds_view(self, request, connection_id: int):
        connection = self._connection(request, connection_id)
        form = HealthThresholdsForm(request.POST)
        if not form.is_valid():
            for field, errors in form.errors.items():
                label = form.fields[field].label if field in form.fields else field
                messages.error(request, f"Thresholds not saved: {label}: {' '.join(errors)}")
            return self._back(connection)
        health_thresholds_save(connection=connection, **form.cleaned_data)
        messages.success(request, "Quarantine thresholds and guard saved.")
        return self._back(connection)

    def approve_staged_view(self, request, connection_id: int):
        connection = self._connection(request, connection_id)
        count = staged_decide(connection=connection, actor=request.user, approve=True)
        messages.success(request, f"{count} held disable(s)/delete(s) approved and applied.")
        return self._back(connection)

    def discard_staged_view(self, request, connection_id: int):
        connection = self._connection(request, connection_id)
        count = staged_decide(connection=connection, actor=request.user, approve=False)
        messages.success(
            request, f"{count} held disable(s)/delete(s) discarded; the accounts stay as they are."
        )
        return self._back(connection)
