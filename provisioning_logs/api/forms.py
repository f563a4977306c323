"""The admin portal's "Add API client" form."""

from django import forms

from accounts.models import Organization
from provisioning_logs.api.models import ApiClient


class ApiClientForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.all(), required=True)
    name = forms.CharField(
        label="Name",
        max_length=ApiClient._meta.get_field("name").max_length,
        help_text="What reads the audit API, for example “Splunk” or “Helpdesk tool”.",
    )

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organization is not None:
            # Organization admins create clients of their own organization only.
            del self.fields["organization"]
        self.fixed_organization = organization

    @property
    def target_organization(self):
        return self.fixed_organization or self.cleaned_data.get("organization")
