"""The admin portal's "Add a federated credential" form (the rules are the service's)."""

from django import forms

from accounts.connections.federation.keys import ENTRA_JWKS_EXAMPLE
from accounts.connections.federation.models import FederatedCredential


def _max(field: str) -> int:
    return FederatedCredential._meta.get_field(field).max_length


class FederatedCredentialForm(forms.Form):
    issuer = forms.CharField(
        label="Issuer",
        max_length=_max("issuer"),
        widget=forms.TextInput(attrs={"placeholder": "https://login.microsoftonline.com/<tenant id>/v2.0"}),
        help_text="The iss of the tokens Entra presents: Entra shows it as the Issuer.",
    )
    subject = forms.CharField(
        label="Subject",
        max_length=_max("subject"),
        help_text="The sub of those tokens: the identity of Entra's provisioning service.",
    )
    audience = forms.CharField(
        label="Audience",
        max_length=_max("audience"),
        help_text="The aud the tokens must contain. Keep our token URL unless Entra shows another.",
    )
    jwks_url = forms.CharField(
        label="JWKS URL",
        required=False,
        max_length=_max("jwks_url"),
        widget=forms.TextInput(attrs={"placeholder": ENTRA_JWKS_EXAMPLE}),
        help_text="Where the issuer publishes its signing keys. Fetched when a token is requested, "
        "and kept as long as the issuer allows.",
    )
    jwks = forms.CharField(
        label="Or paste the keys (JWK Set)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": '{"keys": [{"kty": "RSA", "kid": "…", …}]}'}),
        help_text="Public keys only, for a test without Internet access. Give a JWKS URL or keys, not both.",
    )
