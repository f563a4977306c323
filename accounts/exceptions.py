"""Domain errors. Entry points translate them (the SCIM layer into RFC 7644 §3.12 errors)."""


class AccountsError(Exception):
    """Base of every error raised by accounts services."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class AccountNotFound(AccountsError):
    pass


class UniquenessConflict(AccountsError):
    """A value that must be unique (userName per organization) is already taken."""


class InvalidAttributeValue(AccountsError):
    """A value breaks a domain rule (unknown manager, two primaries, over-long text…)."""


class OrganizationNotFound(AccountsError):
    pass


class VersionMismatch(AccountsError):
    """The client's If-Match version is not the account's current version."""


class DeprovisioningHeld(AccountsError):
    """
    A deprovisioning policy held this disable or delete (e.g. the mass-deprovisioning guard):
    the account is unchanged; `action` says which it was ("Disable" or "Delete").
    """

    def __init__(self, message: str, *, action: str):
        super().__init__(message)
        self.action = action
