"""
The provisioning connection page with its health: quarantine state and timeline, notification
settings and outbox, thresholds and the held deprovisionings. accounts must not import
provisioning_logs, so these are added here by re-registering a subclass of accounts' own
connection admin (its token and Connect screens unchanged).
"""

from django.contrib import admin, messages
from django.db.models import OuterRef, Subquery
from django.urls import path
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods, require_POST

from accounts.connections.admin import ProvisioningConnectionAdmin, confirmation_page, confirmed
from accounts.connections.models import ProvisioningConnection
from accounts.models import ActivityAction
from accounts.services.activity import admin_activity_record
from provisioning_logs.connection_settings import THRESHOLD_FIELDS, health_thresholds_save
from provisioning_logs.forms import HealthThresholdsForm, NotificationSettingsForm
from provisioning_logs.guard import staged_decide
from provisioning_logs.health import health_clear
from provisioning_logs.health_summary import health_summary
from provisioning_logs.models import ConnectionHealth, HealthState
from provisioning_logs.notifications import notification_send_test, notification_settings_save


admin.site.unregister(ProvisioningConnection)


@admin.register(ProvisioningConnection)
class ProvisioningConnectionHealthAdmin(ProvisioningConnectionAdmin):
    change_form_template = "admin/provisioning_logs/provisioningconnection_change_form.html"
    list_display = (
        "name",
        "health_badge",
        "organization",
        "enabled",
        "active_tokens",
        "last_used",
        "created_at",
    )

    class Media:
        css = {"all": ("portal/health.css",)}

    def get_queryset(self, request):
        health = ConnectionHealth.objects.filter(connection=OuterRef("pk"))
        return (
            super()
            .get_queryset(request)
            .annotate(
                _health_state=Subquery(health.values("state")[:1]),
                _health_reason=Subquery(health.values("reason")[:1]),
            )
        )

    @admin.display(description="health", ordering="_health_state")
    def health_badge(self, connection):
        state = connection._health_state or HealthState.HEALTHY
        badge = format_html(
            '<span class="health-badge health-badge-{}">{}</span>', state, HealthState(state).label
        )
        if state == HealthState.HEALTHY or not connection._health_reason:
            return badge
        reason = ConnectionHealth(reason=connection._health_reason).get_reason_display()
        return format_html("{} {}", badge, reason)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        connection = self.get_queryset(request).filter(pk=object_id).first() if object_id.isdigit() else None
        if connection is not None:
            summary = health_summary(connection)
            settings_row = summary.own_settings
            extra_context["health"] = summary
            # A form that failed validation comes in bound, with the input and the errors kept.
            extra_context.setdefault(
                "notification_form",
                NotificationSettingsForm(
                    initial={
                        "addresses": settings_row.addresses if settings_row else "",
                        "send_on_failure": summary.send_on_failure,
                        "digest_interval_minutes": summary.digest_interval_minutes,
                    }
                ),
            )
            extra_context.setdefault(
                "thresholds_form",
                HealthThresholdsForm(
                    initial={name: getattr(summary.health, name) for name in THRESHOLD_FIELDS}
                ),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def _page_with(self, request, connection, **forms):
        """The connection page again, with a form that did not validate (errors at its fields)."""
        request.method = "GET"  # render the page; the admin's own form was not submitted
        return self.change_view(request, str(connection.pk), extra_context=forms)

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
                )
            ],
            *[
                path(
                    f"<int:connection_id>/{suffix}/",
                    # GET: the confirmation page; POST with confirm=yes: the action.
                    self.admin_site.admin_view(require_http_methods(["GET", "POST"])(view)),
                    name=f"accounts_provisioningconnection_{name}",
                )
                for suffix, view, name in (
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
            messages.error(request, "Notification settings not saved: correct the fields marked below.")
            return self._page_with(request, connection, notification_form=form)
        as_default = request.POST.get("scope") == "organization"
        notification_settings_save(
            connection=None if as_default else connection,
            organization=connection.organization,
            **form.cleaned_data,
        )
        data = form.cleaned_data
        addresses = ", ".join(data["addresses"].split()) or "none (the organization's admins)"
        admin_activity_record(
            action=ActivityAction.NOTIFICATIONS_CHANGED,
            summary=(
                f"Notification settings{' (organization default)' if as_default else ''}: "
                f"addresses {addresses}; "
                f"failure e-mails {'on' if data['send_on_failure'] else 'off'}, "
                f"at most every {data['digest_interval_minutes']} min."
            ),
            target=connection,
            request=request,
        )
        messages.success(
            request,
            f"Saved as the default for all connections of {connection.organization.name}."
            if as_default
            else "Notification settings saved.",
        )
        return self._back(connection, "notifications")

    def test_email_view(self, request, connection_id: int):
        connection = self._connection(request, connection_id)
        summary = health_summary(connection)
        accepted, report = notification_send_test(connection=connection, addresses=summary.addresses)
        if summary.addresses:
            admin_activity_record(
                action=ActivityAction.TEST_EMAIL_SENT,
                summary=(
                    f"Test e-mail to {', '.join(summary.addresses)}: {'accepted' if accepted else 'refused'}."
                ),
                target=connection,
                request=request,
            )
        messages.add_message(request, messages.SUCCESS if accepted else messages.ERROR, report)
        return self._back(connection, "notifications")

    def clear_quarantine_view(self, request, connection_id: int):
        connection = self._connection(request, connection_id)
        if health_clear(connection=connection, actor=request.user):
            admin_activity_record(
                action=ActivityAction.QUARANTINE_CLEARED,
                summary="Cleared the quarantine.",
                target=connection,
                request=request,
            )
            messages.success(request, "Quarantine cleared. The connection is healthy again.")
        else:
            messages.info(request, "The connection was not in quarantine.")
        return self._back(connection, "health")

    def thresholds_view(self, request, connection_id: int):
        connection = self._connection(request, connection_id)
        form = HealthThresholdsForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Thresholds not saved: correct the fields marked below.")
            return self._page_with(request, connection, thresholds_form=form)
        before = health_summary(connection).health
        health_thresholds_save(connection=connection, **form.cleaned_data)
        changes = [
            f"{form.fields[name].label}: {_setting(getattr(before, name))} → {_setting(value)}"
            for name, value in form.cleaned_data.items()
            if getattr(before, name) != value
        ]
        admin_activity_record(
            action=ActivityAction.THRESHOLDS_CHANGED,
            summary="Thresholds and guard: " + ("; ".join(changes) if changes else "saved unchanged") + ".",
            target=connection,
            request=request,
        )
        messages.success(request, "Quarantine thresholds and guard saved.")
        return self._back(connection, "thresholds")

    def _confirm_held(self, request, connection, *, approve: bool):
        held = len(health_summary(connection).staged)
        return confirmation_page(
            request,
            connection,
            title="Apply the held disables and deletes?"
            if approve
            else "Discard the held disables and deletes?",
            question=(
                f"Apply the {held} disable(s)/delete(s) Entra sent beyond the guard?"
                if approve
                else f"Discard the {held} disable(s)/delete(s) Entra sent beyond the guard?"
            ),
            consequences=[
                "The accounts are disabled or deleted now, as Entra asked; their sign-ins stop."
                if approve
                else (
                    "The accounts stay as they are; Entra is not told, and sends them again only if "
                    "they change."
                ),
                "If Entra's scope changed by mistake, fix it in Entra first.",
            ],
            button="Approve and apply" if approve else "Discard",
            action_url=request.path,
            opts=self.model._meta,
        )

    def approve_staged_view(self, request, connection_id: int):
        connection = self._connection(request, connection_id)
        if not confirmed(request):
            return self._confirm_held(request, connection, approve=True)
        count = staged_decide(connection=connection, actor=request.user, approve=True)
        admin_activity_record(
            action=ActivityAction.HELD_APPROVED,
            summary=f"Approved and applied {count} held disable(s)/delete(s).",
            target=connection,
            request=request,
        )
        messages.success(request, f"{count} held disable(s)/delete(s) approved and applied.")
        return self._back(connection, "health")

    def discard_staged_view(self, request, connection_id: int):
        connection = self._connection(request, connection_id)
        if not confirmed(request):
            return self._confirm_held(request, connection, approve=False)
        count = staged_decide(connection=connection, actor=request.user, approve=False)
        admin_activity_record(
            action=ActivityAction.HELD_DISCARDED,
            summary=f"Discarded {count} held disable(s)/delete(s).",
            target=connection,
            request=request,
        )
        messages.success(
            request, f"{count} held disable(s)/delete(s) discarded; the accounts stay as they are."
        )
        return self._back(connection, "health")


def _setting(value) -> str:
    return "default" if value is None else str(value)
