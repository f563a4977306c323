"""
The admin form of a single sign-on configuration: the IdP from its federation metadata (uploaded
or pasted) or from three fields entered by hand, and how assertions name accounts.
"""

from django import forms

from accounts.models import SSO_NAME_ID, Organization, SsoConfiguration
from accounts.sso.certificates import CertificateError, certificates_normalise
from accounts.sso.metadata import METADATA_MAX_BYTES, MetadataError, idp_metadata_parse


IDENTIFIER_NAME_ID = "nameid"
IDENTIFIER_CLAIM = "claim"
IDP_FIELDS = ("idp_entity_id", "idp_sso_url", "idp_certificate")
MISSING_IDP_FIELD = "Upload or paste the federation metadata XML, or enter this field."
CLAIM_REQUIRED = "Enter the name of the claim that holds the userName."


def _lines(text: str | None) -> str:
    """Text as stored: browsers post textareas back with CRLF line ends."""
    return (text or "").replace("\r\n", "\n").strip()


class SsoConfigurationForm(forms.ModelForm):
    metadata_file = forms.FileField(
        label="Federation metadata XML file",
        required=False,
        help_text="In Entra: Enterprise applications → the app → Single sign-on → SAML Certificates → "
        "Federation Metadata XML → Download. It fills in the three identity-provider fields.",
    )
    idp_sso_url = forms.URLField(
        label=SsoConfiguration._meta.get_field("idp_sso_url").verbose_name,
        max_length=SsoConfiguration._meta.get_field("idp_sso_url").max_length,
        required=False,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"size": 80}),
    )
    identifier_kind = forms.ChoiceField(
        label="Account identifier",
        choices=[
            (IDENTIFIER_NAME_ID, "NameID (Entra's default: user.userprincipalname)"),
            (IDENTIFIER_CLAIM, "A claim, named below"),
        ],
        initial=IDENTIFIER_NAME_ID,
        widget=forms.RadioSelect,
        help_text="Its value is matched against the work account's userName, ignoring case. Entra "
        "provisions user.userprincipalname as userName, so the NameID fits unless that mapping changed.",
    )
    identifier_claim = forms.CharField(
        label="Claim name",
        required=False,
        max_length=SsoConfiguration._meta.get_field("identifier").max_length,
        help_text="e.g. http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name, or userName.",
    )

    class Meta:
        model = SsoConfiguration
        fields = [
            "organization",
            "enabled",
            "idp_metadata_xml",
            "idp_entity_id",
            "idp_sso_url",
            "idp_certificate",
            "want_signed_authn_request",
            "require_sso_for_non_admins",
        ]
        labels = {"idp_metadata_xml": "Federation metadata XML (paste)"}
        widgets = {
            "idp_metadata_xml": forms.Textarea(attrs={"rows": 6, "cols": 90, "spellcheck": "false"}),
            "idp_certificate": forms.Textarea(attrs={"rows": 6, "cols": 70, "spellcheck": "false"}),
            "idp_entity_id": forms.TextInput(attrs={"size": 80}),
        }

    def __init__(self, *args, organization: Organization | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        for name in IDP_FIELDS:
            if name in self.fields:
                self.fields[name].required = False
        if "organization" in self.fields:
            if organization is not None or self.instance.pk:
                del self.fields["organization"]
            else:
                self.fields["organization"].queryset = Organization.objects.filter(
                    sso_configuration__isnull=True
                )
        if organization is not None and not self.instance.pk:
            self.instance.organization = organization
        if self.instance.pk and not self.instance.uses_name_id:
            self.initial.setdefault("identifier_kind", IDENTIFIER_CLAIM)
            self.initial.setdefault("identifier_claim", self.instance.identifier)

    def _metadata_source(self) -> tuple[str, bytes | str] | None:
        upload = self.cleaned_data.get("metadata_file")
        if upload:
            return "metadata_file", upload.read(METADATA_MAX_BYTES + 1)
        pasted = _lines(self.cleaned_data.get("idp_metadata_xml"))
        if pasted and pasted != _lines(self.instance.idp_metadata_xml):
            return "idp_metadata_xml", pasted
        return None

    def _clean_idp(self, cleaned: dict) -> None:
        source = self._metadata_source()
        if source is not None:
            field, xml = source
            try:
                idp = idp_metadata_parse(xml)
            except MetadataError as exc:
                self.add_error(field, str(exc))
                return
            cleaned.update(
                idp_entity_id=idp.entity_id,
                idp_sso_url=idp.sso_url,
                idp_certificate=idp.certificate_pem,
                idp_metadata_xml=xml.decode("utf-8-sig", "replace") if isinstance(xml, bytes) else xml,
            )
            return
        for name in IDP_FIELDS:
            if not (cleaned.get(name) or "").strip() and name not in self.errors:
                self.add_error(name, MISSING_IDP_FIELD)
        if cleaned.get("idp_certificate") and "idp_certificate" not in self.errors:
            try:
                cleaned["idp_certificate"] = certificates_normalise(cleaned["idp_certificate"])
            except CertificateError as exc:
                self.add_error("idp_certificate", str(exc))
        # Entered by hand, the stored metadata no longer describes what is in use; else it stays.
        cleaned["idp_metadata_xml"] = "" if self._idp_changed(cleaned) else self.instance.idp_metadata_xml

    def _idp_changed(self, cleaned: dict) -> bool:
        # Compared with what is stored, not with the form's initial text: browsers post textareas
        # back with CRLF line ends, which would make an untouched certificate look edited.
        instance = self.instance
        return (
            cleaned.get("idp_entity_id") != instance.idp_entity_id
            or cleaned.get("idp_sso_url") != instance.idp_sso_url
            or cleaned.get("idp_certificate") != instance.idp_certificate
        )

    def _clean_identifier(self, cleaned: dict) -> None:
        if cleaned.get("identifier_kind") == IDENTIFIER_CLAIM:
            claim = (cleaned.get("identifier_claim") or "").strip()
            if not claim:
                self.add_error("identifier_claim", CLAIM_REQUIRED)
                return
            self.instance.identifier = claim
        else:
            self.instance.identifier = SSO_NAME_ID

    def clean(self):
        cleaned = super().clean()
        for name in IDP_FIELDS:
            if isinstance(cleaned.get(name), str):
                cleaned[name] = cleaned[name].strip()
        self._clean_idp(cleaned)
        self._clean_identifier(cleaned)
        return cleaned
