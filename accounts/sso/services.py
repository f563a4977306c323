"""
Single sign-on writes and decisions: which usernames go to their organization's identity
provider, who may still use a password, saving a configuration, and turning a verified assertion
into the work account it names (once: replayed assertions are refused).
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.encryption import UndecryptableSecret
from accounts.models import OrganizationRole, SamlAssertionSeen, SsoConfiguration, WorkAccount
from accounts.sso import refusals
from accounts.sso.certificates import sp_key_pair_generate
from accounts.sso.refusals import SsoRefused
from accounts.sso.saml import ServiceProvider, VerifiedAssertion


ASSERTION_ID_MAX = SamlAssertionSeen._meta.get_field("assertion_id").max_length


def _only_live_account(username: str, organization=None) -> WorkAccount | None:
    """
    The live account with this userName in `organization` (the sign-in page's hint) when it has
    one, else the only one; None when there is none or it is ambiguous (the same userName in
    several organizations).
    """
    live = WorkAccount.objects.filter(
        user_name__iexact=username, deleted_at__isnull=True, organization__isnull=False
    ).select_related("organization")
    if organization is not None:
        hinted = live.filter(organization=organization).first()
        if hinted is not None:
            return hinted
    matches = list(live[:2])
    return matches[0] if len(matches) == 1 else None


def sso_configuration_get(*, slug: str) -> SsoConfiguration | None:
    return SsoConfiguration.objects.select_related("organization").filter(organization__slug=slug).first()


def sso_configuration_for_username(username: str, *, organization=None) -> SsoConfiguration | None:
    """
    The enabled configuration the sign-in page should send this username to. Only an active
    account decides: unknown, disabled and ambiguous usernames go on to the password step as
    before, so that step 1 tells nothing new about them. `organization`: the sign-in page's
    organization hint (?org=), which picks that organization's account of an ambiguous userName.
    """
    account = _only_live_account(username, organization)
    if account is None or account.is_active is not True:
        return None
    return (
        SsoConfiguration.objects.select_related("organization")
        .filter(organization_id=account.organization_id, enabled=True)
        .first()
    )


def is_sso_admin(account: WorkAccount) -> bool:
    """Admins keep their password so that a broken identity provider cannot lock them out."""
    return account.is_superuser or account.role == OrganizationRole.ADMIN


def sso_password_refused(username: str, *, organization=None) -> SsoConfiguration | None:
    """The configuration that forbids this username a password sign-in, or None."""
    account = _only_live_account(username, organization)
    return sso_password_refused_for(account) if account is not None else None


def sso_password_refused_for(account: WorkAccount) -> SsoConfiguration | None:
    """The configuration that forbids this account a password sign-in, or None."""
    if account.is_active is not True or is_sso_admin(account):
        return None
    return (
        SsoConfiguration.objects.select_related("organization")
        .filter(organization_id=account.organization_id, enabled=True, require_sso_for_non_admins=True)
        .first()
    )


def sso_configuration_save(*, configuration: SsoConfiguration) -> SsoConfiguration:
    """Save the configuration; a new one gets its own service-provider key pair."""
    if not configuration.sp_private_key or not configuration.sp_certificate:
        configuration.sp_private_key, configuration.sp_certificate = sp_key_pair_generate(
            f"Meta Work Accounts SSO {configuration.organization.slug}"
        )
    configuration.updated_at = timezone.now()
    with transaction.atomic():
        configuration.save()
    return configuration


def sso_keys_reencrypt() -> tuple[int, list[str]]:
    """
    Re-encrypt every service-provider private key under the current (first) encryption key, so
    the old key can be dropped. Returns how many were re-encrypted and the organizations whose key
    no configured key opens (left as they are).
    """
    done, undecryptable = 0, []
    for pk, slug in SsoConfiguration.objects.values_list("pk", "organization__slug"):
        with transaction.atomic():
            try:
                configuration = SsoConfiguration.objects.select_for_update().get(pk=pk)
            except UndecryptableSecret:
                undecryptable.append(slug)
                continue
            configuration.save(update_fields=["sp_private_key"])  # encrypted anew on the way in
        done += 1
    return done, undecryptable


def _identifier(configuration: SsoConfiguration, assertion: VerifiedAssertion) -> str:
    if configuration.uses_name_id:
        value, named = assertion.name_id, "a NameID"
    else:
        values = [v for v in assertion.attributes.get(configuration.identifier, []) if v]
        value, named = (values[0] if values else None), f"the claim “{configuration.identifier}”"
    if not value:
        raise SsoRefused(
            refusals.NO_IDENTIFIER, identifier=named, organization=configuration.organization.name
        )
    return value


def _remember_once(configuration: SsoConfiguration, assertion: VerifiedAssertion) -> None:
    now = timezone.now()
    if not assertion.assertion_id or len(assertion.assertion_id) > ASSERTION_ID_MAX:
        raise SsoRefused(refusals.NOT_VERIFIED)
    try:
        with transaction.atomic():
            # Expired rows can go: an expired assertion is refused by its time window anyway.
            SamlAssertionSeen.objects.filter(expires_at__lt=now).delete()
            SamlAssertionSeen.objects.create(
                assertion_id=assertion.assertion_id,
                organization=configuration.organization,
                seen_at=now,
                expires_at=assertion.expires_at,
            )
    except IntegrityError as exc:
        raise SsoRefused(refusals.REPLAYED) from exc


def sso_assertion_consume(*, provider: ServiceProvider, assertion: VerifiedAssertion) -> WorkAccount:
    """
    The active work account of the provider's organization that the verified assertion names,
    matched on userName case-insensitively. Never another organization's, and never created
    here: Entra provisioning owns accounts.
    """
    configuration = provider.configuration
    organization = configuration.organization
    user_name = _identifier(configuration, assertion)
    _remember_once(configuration, assertion)
    accounts = list(WorkAccount.objects.filter(organization=organization, user_name__iexact=user_name))
    live = [account for account in accounts if account.deleted_at is None]
    details = {"user_name": user_name, "organization": organization.name}
    if live:
        account = live[0]
        if account.is_active is not True:
            raise SsoRefused(refusals.DISABLED_ACCOUNT, **details)
        return account
    if accounts:
        raise SsoRefused(refusals.DELETED_ACCOUNT, **details)
    raise SsoRefused(refusals.UNKNOWN_ACCOUNT, **details)
