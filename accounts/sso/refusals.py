"""
Why a single sign-on was refused, in plain words, once. Every refusal is a page
(accounts/sso_refused.html) with its status: 400 for input that is not a SAML response at all,
404 when the organization has no single sign-on, 403 for everything refused after reading it.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    code: str
    title: str
    message: str
    status: int = 403


MISSING = Reason(
    "missing",
    "No sign-in response",
    "This address receives sign-in responses from {organization}'s identity provider, and none was "
    "sent. Start again from the sign-in page.",
    400,
)
MALFORMED = Reason(
    "malformed",
    "Sign-in response not readable",
    "The sign-in response could not be read: it is not a SAML 2.0 Response.",
    400,
)
NOT_AVAILABLE = Reason(
    "not_available",
    "Single sign-on not available",
    "Single sign-on is not turned on for this organization.",
    404,
)
MISCONFIGURED = Reason(
    "misconfigured",
    "Single sign-on not available",
    "Single sign-on of {organization} cannot start: its configuration is incomplete. An admin can "
    "sign in with a password and check it in the admin portal.",
    503,
)
IDP_STATUS = Reason(
    "idp_status",
    "Identity provider did not sign you in",
    "{organization}'s identity provider did not sign you in ({status}).",
)
WRONG_ISSUER = Reason(
    "wrong_issuer",
    "Response from another identity provider",
    "The sign-in response does not come from {organization}'s identity provider ({idp_entity_id}).",
)
SIGNATURE = Reason(
    "signature",
    "Signature not valid",
    "The sign-in response is not signed with the certificate of {organization}'s identity provider, "
    "or it was changed after it was signed. It cannot be trusted.",
)
AUDIENCE = Reason(
    "audience",
    "Response meant for another application",
    "The sign-in response was issued for another application, not for Meta Work Accounts of "
    "{organization}. In Entra, the application's Identifier (Entity ID) must be {entity_id}.",
)
RECIPIENT = Reason(
    "recipient",
    "Response sent to another address",
    "The sign-in response was addressed to another URL. In Entra, the application's Reply URL must "
    "be {acs_url}.",
)
EXPIRED = Reason(
    "expired",
    "Sign-in response expired",
    "The sign-in response has expired, or is not valid yet. Sign in again; if this keeps happening, "
    "the clock of the identity provider or of this portal is wrong.",
)
REPLAYED = Reason(
    "replayed",
    "Sign-in response already used",
    "This sign-in response has already been used, and each one signs in only once. Sign in again.",
)
UNSOLICITED = Reason(
    "unsolicited",
    "Sign-in not started here",
    "This sign-in response answers a sign-in that was not started in this browser, or that took too "
    "long. Sign in again.",
)
NO_IDENTIFIER = Reason(
    "no_identifier",
    "Work account not named",
    "The sign-in response does not contain {identifier}, which names the work account in "
    "{organization}. An admin can check the account identifier of the single sign-on configuration.",
)
UNKNOWN_ACCOUNT = Reason(
    "unknown_account",
    "No work account",
    "There is no work account “{user_name}” in {organization}. Work accounts are created by "
    "{organization}'s Microsoft Entra ID provisioning: ask your IT admin to assign you to Meta Work "
    "Accounts.",
)
DELETED_ACCOUNT = Reason(
    "deleted_account",
    "Work account deleted",
    "The work account “{user_name}” in {organization} has been deleted.",
)
DISABLED_ACCOUNT = Reason(
    "disabled_account",
    "Work account disabled",
    "The work account “{user_name}” in {organization} is disabled. Ask your IT admin to enable it in "
    "Microsoft Entra ID.",
)
NOT_VERIFIED = Reason(
    "not_verified",
    "Sign-in response not accepted",
    "The sign-in response could not be verified, so it cannot sign you in. Sign in again.",
)


class SsoRefused(Exception):
    def __init__(self, reason: Reason, **details):
        super().__init__(reason.code)
        self.reason = reason
        self.details = details

    @property
    def status(self) -> int:
        return self.reason.status

    @property
    def title(self) -> str:
        return self.reason.title

    @property
    def message(self) -> str:
        # A detail the raiser did not know is left out rather than breaking the refusal page.
        return self.reason.message.format_map(_Details(self.details))


class _Details(dict):
    def __missing__(self, key):
        return "…"
