"""
Which SCIM client a provisioning connection serves (its client profile), and how the profile is
detected from the User-Agent of the connection's first request. The profile decides what a PATCH
answers (scim.answers): clients disagree, and RFC 7644 §3.5.2 allows both 200 and 204.
"""

from django.db import models


class ClientProfile(models.TextChoices):
    AUTOMATIC = "auto", "Detect automatically (from the User-Agent of the first request)"
    ENTRA = "entra", "Microsoft Entra ID: a group PATCH is answered 204 No Content"
    OKTA = "okta", "Okta: a PATCH is answered 200 with the resource (groups with their members)"
    GENERIC = "generic", "Another SCIM client (RFC 7644): a PATCH is answered 200 with the resource"


# Okta documents its User-Agent ("Okta SCIM Client 1.0.0", developer.okta.com SCIM 2.0 reference).
# Entra documents none (entra-scim.md §1.2); these are the names its provisioning service and
# Microsoft's validators have been seen to send ("Azure Active Directory SCIM Client",
# "Microsoft Azure AD SCIM provisioning", "Microsoft.Azure…"). Compared case-insensitively.
OKTA_AGENTS = ("okta",)
ENTRA_AGENTS = (
    "azure active directory",
    "azure ad",
    "azuread",
    "microsoft.azure",
    "microsoft azure",
    "microsoft entra",
    "entra id",
)


def profile_for_user_agent(user_agent: str) -> str:
    """The profile a User-Agent names: Okta, Entra, or a generic RFC client."""
    lowered = user_agent.lower()
    if any(name in lowered for name in OKTA_AGENTS):
        return ClientProfile.OKTA
    if any(name in lowered for name in ENTRA_AGENTS):
        return ClientProfile.ENTRA
    return ClientProfile.GENERIC
