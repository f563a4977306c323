"""Notification settings and health thresholds, as admins edit them in the portal."""

from django import forms
from django.core.exceptions import ValidationError

from provisioning_logs.notifications import parse_addresses


class NotificationSettingsForm(forms.Form):
    addresses = forms.CharField(
        label="Notification e-mail addresses",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "it-team@contoso.com"}),
        help_text="One per line. Empty: the organization's admins are told about quarantines.",
    )
    send_on_failure = forms.BooleanField(
        label="Send an e-mail notification when a failure occurs", required=False
    )
    digest_interval_minutes = forms.IntegerField(
        label="At most one failure e-mail every (minutes)", min_value=5, max_value=7 * 24 * 60, initial=60
    )

    def clean_addresses(self):
        try:
            return "\n".join(parse_addresses(self.cleaned_data["addresses"]))
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from None


class HealthThresholdsForm(forms.Form):
    min_failures = forms.IntegerField(label="Evaluate from (failures)", min_value=1, required=False)
    failure_percent = forms.IntegerField(
        label="Quarantine above (% failed)", min_value=1, max_value=100, required=False
    )
    failure_limit = forms.IntegerField(label="Quarantine above (failures)", min_value=1, required=False)
    absolute_limit = forms.IntegerField(label="Absolute limit (all failures)", min_value=1, required=False)
    guard_percent = forms.IntegerField(
        label="Hold disables/deletes beyond (% of accounts per cycle)",
        min_value=1,
        max_value=100,
        required=False,
    )
    guard_count = forms.IntegerField(
        label="Hold disables/deletes beyond (accounts per cycle)", min_value=1, required=False
    )
