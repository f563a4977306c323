"""
The domain: organizations and their work accounts.

A WorkAccount carries every RFC 7643 §4.1 attribute that Entra maps plus the enterprise extension
(§4.3). Multi-valued complex attributes (emails, phoneNumbers, addresses) are rows of one table,
WorkAccountValue, so that they can be filtered with plain joins and loaded with a single query.
Values are stored exactly as the client sent them.
"""

import secrets
import uuid

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, UNUSABLE_PASSWORD_SUFFIX_LENGTH
from django.contrib.auth.models import PermissionsMixin
from django.contrib.contenttypes.models import ContentType
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils import timezone as dj_timezone

from accounts import loaded
from accounts.connections.token_cache import AnnouncedQuerySet
from accounts.fields import EncryptedTextField
from accounts.statements import Statement


class Organization(models.Model):
    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=dj_timezone.now)

    # Processes keep authenticated tokens with their organization (accounts.connections.token_cache).
    objects = AnnouncedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class OrganizationRole(models.TextChoices):
    ADMIN = "admin", "Admin"
    SUPPORT = "support", "Support"
    MEMBER = "member", "Member"


# The keywords of django-scim2's read of one User (the organization scope, then the id).
_SCOPED_LOOKUP = {"organization", "deleted_at__isnull", "pk"}


class WorkAccountManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, user_name, password=None, **extra_fields):
        if not user_name:
            raise ValueError("A work account needs a user name.")
        account = self.model(user_name=user_name, **extra_fields)
        account.set_password(password)
        account.save(using=self._db)
        return account

    create_user.alters_data = True

    def create_superuser(self, user_name, password=None, **extra_fields):
        extra_fields["is_superuser"] = True
        return self.create_user(user_name, password, **extra_fields)

    create_superuser.alters_data = True

    def get(self, *args, **kwargs):
        # django-scim2's get_object reads a User as objects.get(organization=…,
        # deleted_at__isnull=True, pk=…) on every GET /Users/{id}, and the ORM compiling that
        # 37-column SELECT was a quarter of the request's CPU (issue 15): the same query,
        # compiled once, with the account's values and groups for its document (on PostgreSQL).
        if self._db is None and not args and kwargs.keys() == _SCOPED_LOOKUP:
            account = _scoped_account(**kwargs)
            if account is not NotImplemented:
                return account
        return super().get(*args, **kwargs)

    def get_by_natural_key(self, username):
        # Sign-in resolves user names through accounts.backends; this keeps createsuperuser and
        # Django's own helpers working for operators (organization-less superusers).
        return self.get(user_name__iexact=username, deleted_at__isnull=True)


class WorkAccount(AbstractBaseUser, PermissionsMixin):
    """A work account of one organization; Django's AUTH_USER_MODEL and the SCIM User resource."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)  # the SCIM id
    # Only platform superusers may have no organization (see the check constraint).
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="accounts"
    )
    role = models.CharField(max_length=16, choices=OrganizationRole.choices, default=OrganizationRole.MEMBER)

    # RFC 7643 §4.1 core attributes. NULL means "not set"; values are kept as sent.
    user_name = models.CharField("userName", max_length=255)
    external_id = models.CharField("externalId", max_length=255, null=True, blank=True)
    # NULL: the client removed `active` (RFC 7644 §3.5.2.2); like false, it blocks sign-in.
    is_active = models.BooleanField("active", default=True, null=True)
    display_name = models.CharField("displayName", max_length=255, null=True, blank=True)
    nick_name = models.CharField("nickName", max_length=255, null=True, blank=True)
    title = models.CharField(max_length=255, null=True, blank=True)
    user_type = models.CharField("userType", max_length=255, null=True, blank=True)
    preferred_language = models.CharField("preferredLanguage", max_length=64, null=True, blank=True)
    locale = models.CharField(max_length=64, null=True, blank=True)
    timezone = models.CharField(max_length=64, null=True, blank=True)
    profile_url = models.CharField("profileUrl", max_length=1024, null=True, blank=True)
    name_formatted = models.CharField("name.formatted", max_length=512, null=True, blank=True)
    name_family_name = models.CharField("name.familyName", max_length=255, null=True, blank=True)
    name_given_name = models.CharField("name.givenName", max_length=255, null=True, blank=True)
    name_middle_name = models.CharField("name.middleName", max_length=255, null=True, blank=True)
    name_honorific_prefix = models.CharField("name.honorificPrefix", max_length=64, null=True, blank=True)
    name_honorific_suffix = models.CharField("name.honorificSuffix", max_length=64, null=True, blank=True)
    # Entra sends roles in several shapes (objects, JSON-in-a-string); they are kept verbatim.
    roles = models.JSONField(default=list, blank=True)

    # RFC 7643 §4.3 enterprise extension.
    employee_number = models.CharField("employeeNumber", max_length=255, null=True, blank=True)
    cost_center = models.CharField("costCenter", max_length=255, null=True, blank=True)
    enterprise_organization = models.CharField("organization", max_length=255, null=True, blank=True)
    division = models.CharField(max_length=255, null=True, blank=True)
    department = models.CharField(max_length=255, null=True, blank=True)
    manager = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="direct_reports"
    )
    # manager.value exactly as sent when it names no account of the organization (yet): Entra
    # may link a manager before the manager is provisioned. Set only while `manager` is NULL;
    # accounts.services links it when the named account appears.
    manager_reference = models.CharField("manager.value", max_length=255, null=True, blank=True)

    date_joined = models.DateTimeField("created", default=dj_timezone.now)
    updated_at = models.DateTimeField("lastModified", default=dj_timezone.now)
    version = models.PositiveIntegerField(default=1)
    # Set by SCIM DELETE: the account is gone for SCIM and its userName is free again, while the
    # row stays as a tombstone for the audit trail.
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Part of the session hash: rotating it ends every session of the account at once.
    security_stamp = models.UUIDField(default=uuid.uuid4, editable=False)

    objects = WorkAccountManager()

    USERNAME_FIELD = "user_name"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        verbose_name = "work account"
        constraints = [
            # RFC 7643 §4.1.1: userName is unique and case-insensitive; enforced here per
            # organization for live accounts only, so a deleted account's name can be reused.
            models.UniqueConstraint(
                F("organization"),
                Upper("user_name"),
                condition=Q(deleted_at__isnull=True, organization__isnull=False),
                name="account_username_ci_unique_per_org",
                violation_error_message="userName is already taken in this organization.",
            ),
            models.UniqueConstraint(
                Upper("user_name"),
                condition=Q(deleted_at__isnull=True, organization__isnull=True),
                name="account_username_ci_unique_platform",
            ),
            models.CheckConstraint(
                condition=Q(organization__isnull=False) | Q(is_superuser=True),
                name="account_has_organization_unless_superuser",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "external_id"], name="account_org_external_id"),
            models.Index(fields=["organization", "date_joined", "id"], name="account_org_created"),
            # The id settles ties: sortBy=meta.lastModified keysets on (updated_at, id) (RFC 9865).
            models.Index(fields=["organization", "updated_at", "id"], name="account_org_modified"),
            # The accounts waiting for a manager, looked up whenever an account is created.
            models.Index(
                fields=["organization", "manager_reference"],
                condition=Q(manager_reference__isnull=False),
                name="account_org_manager_reference",
            ),
        ]

    def __str__(self):
        return self.user_name

    @property
    def is_staff(self):
        """Admins and support staff use the admin portal; members do not."""
        return self.is_superuser or self.role in (OrganizationRole.ADMIN, OrganizationRole.SUPPORT)

    @property
    def is_deleted(self):
        return self.deleted_at is not None

    @property
    def email(self):
        """The primary e-mail (else the first), for Django's mail helpers."""
        emails = [v for v in self.multi_values.all() if v.attribute == ValueAttribute.EMAILS]
        chosen = next((v for v in emails if v.primary), emails[0] if emails else None)
        return chosen.value if chosen else ""

    def set_password(self, raw_password):
        if raw_password is None:  # make_password(None): an unusable password
            self.set_unusable_password()
            self._password = None
            return
        super().set_password(raw_password)

    def set_unusable_password(self):
        # make_password(None) draws its 40 random characters with one urandom read each (45 µs
        # of every SCIM create, issue 15): the same unusable form from one read.
        self.password = UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(UNUSABLE_PASSWORD_SUFFIX_LENGTH // 2)

    def get_session_auth_hash(self):
        # Django checks this hash on every request: mixing in the security stamp lets
        # deactivation end all sessions immediately, not only on the next sign-in.
        from django.utils.crypto import salted_hmac

        return salted_hmac(
            "accounts.WorkAccount.get_session_auth_hash",
            f"{self.password}:{self.security_stamp}",
            algorithm="sha256",
        ).hexdigest()


class ValueAttribute(models.TextChoices):
    EMAILS = "emails", "emails"
    PHONE_NUMBERS = "phoneNumbers", "phoneNumbers"
    ADDRESSES = "addresses", "addresses"


class WorkAccountValue(models.Model):
    """One element of a multi-valued complex attribute, in the order the client sent it."""

    account = models.ForeignKey(WorkAccount, on_delete=models.CASCADE, related_name="multi_values")
    attribute = models.CharField(max_length=16, choices=ValueAttribute.choices)
    position = models.PositiveSmallIntegerField(default=0)
    type = models.CharField(max_length=64, null=True, blank=True)
    primary = models.BooleanField(default=False)
    display = models.CharField(max_length=255, null=True, blank=True)
    # emails and phoneNumbers
    value = models.CharField(max_length=1024, null=True, blank=True)
    # addresses
    formatted = models.CharField(max_length=1024, null=True, blank=True)
    street_address = models.CharField("streetAddress", max_length=512, null=True, blank=True)
    locality = models.CharField(max_length=255, null=True, blank=True)
    region = models.CharField(max_length=255, null=True, blank=True)
    postal_code = models.CharField("postalCode", max_length=64, null=True, blank=True)
    country = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        ordering = ["account", "attribute", "position"]
        indexes = [
            models.Index(fields=["account", "attribute", "position"], name="accountvalue_account"),
            # emails[type eq "work"].value eq "…" lookups compare case-insensitively.
            models.Index(Upper("value"), "attribute", name="accountvalue_value_ci"),
        ]

    def __str__(self):
        return f"{self.attribute}[{self.type}]"


class WorkGroup(models.Model):
    """A group of an organization's work accounts; the SCIM Group resource."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)  # the SCIM id
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="groups")
    display_name = models.CharField("displayName", max_length=255)
    external_id = models.CharField("externalId", max_length=255, null=True, blank=True)
    created_at = models.DateTimeField("created", default=dj_timezone.now)
    updated_at = models.DateTimeField("lastModified", default=dj_timezone.now)
    version = models.PositiveIntegerField(default=1)
    members = models.ManyToManyField(WorkAccount, through="GroupMembership", related_name="work_groups")

    class Meta:
        verbose_name = "work group"
        constraints = [
            # Entra requires displayName to be unique (it matches groups on it); compared
            # case-insensitively like every SCIM string that is not caseExact.
            models.UniqueConstraint(
                F("organization"),
                Upper("display_name"),
                name="group_display_name_ci_unique_per_org",
                violation_error_message="displayName is already taken in this organization.",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "external_id"], name="group_org_external_id"),
            models.Index(fields=["organization", "created_at", "id"], name="group_org_created"),
            models.Index(fields=["organization", "updated_at", "id"], name="group_org_modified"),
        ]

    def __str__(self):
        return self.display_name


class GroupMembership(models.Model):
    """One account in one group. Rows are added and removed one by one, never rewritten."""

    group = models.ForeignKey(WorkGroup, on_delete=models.CASCADE, related_name="memberships")
    account = models.ForeignKey(WorkAccount, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "account"], name="membership_unique"),
        ]
        indexes = [models.Index(fields=["account", "group"], name="membership_account")]

    def __str__(self):
        return f"{self.account_id} in {self.group_id}"


class SignInFailure(models.Model):
    """
    One failed sign-in, kept for the throttling window. Stored in the database rather than a
    per-process cache so that every gunicorn worker sees the same count.
    """

    # A digest of the normalised userName or of the client address: the table never holds a
    # userName someone merely tried.
    key = models.CharField(max_length=64)
    failed_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        indexes = [models.Index(fields=["key", "failed_at"], name="signin_failure_key_time")]

    def __str__(self):
        return f"{self.key[:8]}… at {self.failed_at:%Y-%m-%d %H:%M:%S}"


# SsoConfiguration.identifier for the assertion's NameID; any other value names a claim.
SSO_NAME_ID = "nameid"


class SsoConfiguration(models.Model):
    """
    One organization's single sign-on through its identity provider (Microsoft Entra ID) with
    SAML 2.0. The identity provider's settings come from its federation metadata or are entered
    by hand; the service-provider key pair signs AuthnRequests when the IdP asks for that.
    """

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="sso_configuration"
    )
    enabled = models.BooleanField(
        "single sign-on on",
        default=False,
        help_text="When on, the sign-in page sends this organization's accounts to the identity provider.",
    )
    idp_entity_id = models.CharField("IdP entity id (Entra: Microsoft Entra Identifier)", max_length=1024)
    idp_sso_url = models.URLField("IdP sign-on URL (Entra: Login URL)", max_length=2048)
    # One or more PEM certificates: Entra publishes the next certificate beside the current one
    # during a rollover, and a signature by either is accepted.
    idp_certificate = models.TextField("IdP signing certificate(s), PEM")
    idp_metadata_xml = models.TextField("IdP federation metadata XML", blank=True)
    want_signed_authn_request = models.BooleanField(
        "sign AuthnRequests",
        default=False,
        help_text="Turn on when Entra requires verification certificates (ours is in our metadata).",
    )
    identifier = models.CharField(
        "account identifier",
        max_length=512,
        default=SSO_NAME_ID,
        help_text='"nameid" for the NameID, else the name of the claim whose value is the userName.',
    )
    require_sso_for_non_admins = models.BooleanField(
        "require single sign-on for non-admins",
        default=False,
        help_text="Members and support staff cannot sign in with a password; admins still can.",
    )
    # The service provider's own key pair, made when the configuration is created; the private
    # key is encrypted at rest (accounts.encryption).
    sp_private_key = EncryptedTextField(editable=False)
    sp_certificate = models.TextField(editable=False)
    created_at = models.DateTimeField(default=dj_timezone.now, editable=False)
    updated_at = models.DateTimeField(default=dj_timezone.now, editable=False)

    class Meta:
        verbose_name = "single sign-on configuration"
        ordering = ["organization__name"]

    def __str__(self):
        return f"Single sign-on of {self.organization}"

    @property
    def uses_name_id(self) -> bool:
        return self.identifier == SSO_NAME_ID


class SamlAssertionSeen(models.Model):
    """
    An assertion id that signed someone in (or was refused after its signature was verified).
    An assertion is accepted once; the row may go once the assertion has expired anyway.
    """

    assertion_id = models.CharField(max_length=255, unique=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField(default=dj_timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="saml_assertion_expires")]

    def __str__(self):
        return self.assertion_id


# The admin activity trail ---------------------------------------------------------------------------
# What people did in the portal and with management commands: roles changed, tokens issued and
# revoked, thresholds edited, quarantines cleared... (issue 16). Provisioning by Entra is in the
# provisioning log, not here. Written only by accounts.services.activity.admin_activity_record.


class ActivitySource(models.TextChoices):
    PORTAL = "portal", "Portal"
    COMMAND = "command", "Management command"


class ActivityAction(models.TextChoices):
    ADDED = "added", "Added"
    CHANGED = "changed", "Changed"
    DELETED = "deleted", "Deleted"
    ROLE_CHANGED = "role_changed", "Role changed"
    CONNECTION_CREATED = "connection_created", "Connection created"
    TOKEN_ISSUED = "token_issued", "Secret token issued"
    TOKEN_REVOKED = "token_revoked", "Secret token revoked"
    QUARANTINE_CLEARED = "quarantine_cleared", "Quarantine cleared"
    THRESHOLDS_CHANGED = "thresholds_changed", "Thresholds and guard changed"
    NOTIFICATIONS_CHANGED = "notifications_changed", "Notification settings changed"
    TEST_EMAIL_SENT = "test_email_sent", "Test e-mail sent"
    HELD_APPROVED = "held_approved", "Held deprovisionings approved"
    HELD_DISCARDED = "held_discarded", "Held deprovisionings discarded"
    API_CLIENT_CREATED = "api_client_created", "API client created"
    API_CLIENT_REVOKED = "api_client_revoked", "API client revoked"
    SSO_CHANGED = "sso_changed", "Single sign-on changed"
    ORGANIZATION_CREATED = "organization_created", "Organization created"
    ADMIN_CREATED = "admin_created", "Admin created"
    KEY_ROTATED = "key_rotated", "Encryption key rotated"
    CLIENT_SECRET_ISSUED = "client_secret_issued", "Client secret issued"
    CLIENT_SECRET_REVOKED = "client_secret_revoked", "Client secret revoked"


class AdminActivity(models.Model):
    # None: a platform-wide action (a superuser's, or a command's) that belongs to no organization.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=dj_timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Kept when the account is deleted; "manage.py <command>" for a command.
    actor_name = models.CharField("who", max_length=300)
    source = models.CharField(max_length=16, choices=ActivitySource.choices, default=ActivitySource.PORTAL)
    client_address = models.GenericIPAddressField("from", null=True, blank=True)
    action = models.CharField(max_length=32, choices=ActivityAction.choices)
    summary = models.CharField("what", max_length=500)
    target_type = models.ForeignKey(ContentType, on_delete=models.SET_NULL, null=True, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField("object", max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "admin activity"
        verbose_name_plural = "admin activity"
        indexes = [
            models.Index(fields=["organization", "-at"], name="activity_org_at"),
            models.Index(fields=["target_type", "target_id", "-at"], name="activity_target_at"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name}: {self.summary}"


def _scoped_account(*, organization, deleted_at__isnull, pk):
    """
    WorkAccount.objects.get(organization=…, deleted_at__isnull=True, pk=…) through a statement
    compiled once, with the account's values and groups on PostgreSQL (accounts.loaded): the
    account, or DoesNotExist as get() raises it. NotImplemented for what the statement does not
    cover (no organization, deleted accounts, an id that is not a UUID), which the ORM then reads.
    """
    if deleted_at__isnull is not True or organization is None or not isinstance(pk, uuid.UUID):
        return NotImplemented
    organization_id = organization.pk if isinstance(organization, Organization) else organization
    with_columns = connections[DEFAULT_DB_ALIAS].vendor == "postgresql"
    statement = _SCOPED_ACCOUNT_WITH_VALUES_AND_GROUPS if with_columns else _SCOPED_ACCOUNT
    rows = statement.rows(organization_id=organization_id, account_id=pk)
    if not rows:
        raise WorkAccount.DoesNotExist(f"{WorkAccount._meta.object_name} matching query does not exist.")
    width = len(_ACCOUNT_ATTNAMES)
    account = WorkAccount.from_db(DEFAULT_DB_ALIAS, _ACCOUNT_ATTNAMES, rows[0][:width])
    if with_columns:
        loaded.set_loaded(account, rows[0][width], rows[0][width + 1])
    return account


def _scoped(organization_id, account_id) -> models.QuerySet:
    return models.QuerySet(WorkAccount).filter(
        organization=organization_id, deleted_at__isnull=True, pk=account_id
    )


_ACCOUNT_ATTNAMES = tuple(f.attname for f in WorkAccount._meta.concrete_fields)
_SCOPED_ARGUMENTS = dict(
    organization_id=WorkAccount._meta.get_field("organization"), account_id=WorkAccount._meta.pk
)
_SCOPED_ACCOUNT = Statement(
    lambda **names: _scoped(**names).values_list(*_ACCOUNT_ATTNAMES), **_SCOPED_ARGUMENTS
)
_SCOPED_ACCOUNT_WITH_VALUES_AND_GROUPS = Statement(
    lambda **names: loaded.with_json_columns(_scoped(**names)).values_list(
        *_ACCOUNT_ATTNAMES, *loaded.JSON_COLUMNS
    ),
    **_SCOPED_ARGUMENTS,
)
