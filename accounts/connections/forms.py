"""The admin portal's "Connect Microsoft Entra ID" form."""

from django import forms
from django.utils import timezone

from accounts.connections.models import ProvisioningConnection
from accounts.connections.selectors import connection_free_name
from accounts.connections.services import DEFAULT_CONNECTION_NAME, ENTRA_REDIRECT_URI
from accounts.models import Organization


EXPIRY_NOT_AFTER_TODAY = "Choose a day after today, or leave it empty for no expiry."


def future_day(day):
    """An optional expiry day: after today (the credential stops at 00:00 UTC that day)."""
    if day is not None and day <= timezone.now().date():
        raise forms.ValidationError(EXPIRY_NOT_AFTER_TODAY)
    return day


class ConnectEntraForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.all(), required=True)
    name = forms.CharField(
        label="Connection name",
        initial=DEFAULT_CONNECTION_NAME,
        max_length=ProvisioningConnection._meta.get_field("name").max_length,
        help_text="One connection per Entra tenant, for example “Entra production” and “Entra test”.",
    )
    extra_redirect_uris = forms.CharField(
        label="Additional redirect URIs",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "https://…"}),
        help_text=f"One https URL per line. {ENTRA_REDIRECT_URI} is always allowed.",
    )
    secret_expires_on = forms.DateField(
        label="Client secret expires on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional. It stops working at 00:00 UTC that day; reminders go out 14 and 3 days "
        "before. Rotate it on the connection's page without downtime.",
    )

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organization is not None:
            # Organization admins connect their own organization only.
            del self.fields["organization"]
        self.fixed_organization = organization
        # The seeded (or any earlier) connection already has the default name: offer a free one.
        self.fields["name"].initial = connection_free_name(
            base=DEFAULT_CONNECTION_NAME, organization=organization
        )

    def clean_secret_expires_on(self):
        return future_day(self.cleaned_data["secret_expires_on"])

    def clean_extra_redirect_uris(self):
        return [
            line.strip() for line in self.cleaned_data["extra_redirect_uris"].splitlines() if line.strip()
        ]

    @property
    def target_organization(self):
        return self.fixed_organization or self.cleaned_data.get("organization")


class CredentialExpiryForm(forms.Form):
    """The optional expiry date of a new secret token or client secret."""

    expires_on = forms.DateField(
        label="Expires on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean_expires_on(self):
        return future_day(self.cleaned_data["expires_on"])
