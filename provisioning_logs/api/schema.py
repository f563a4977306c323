"""drf-spectacular's view of the audit API: its bearer authentication and its canonical paths."""

from drf_spectacular.contrib.django_oauth_toolkit import DjangoOAuthToolkitScheme

from provisioning_logs.api.clients import AUDIT_SCOPE


class AuditClientScheme(DjangoOAuthToolkitScheme):
    """OAuth 2 client credentials (token at /o/token/), scope audit:read, for every endpoint."""

    target_class = "provisioning_logs.api.authentication.AuditClientAuthentication"

    def get_security_requirement(self, auto_schema):
        # The permission is "an audit:read token OR a portal session", which the toolkit's
        # extension (looking for a bare TokenHasScope) does not recognise.
        return {self.name: [AUDIT_SCOPE]}


def canonical_paths_only(endpoints, **kwargs):
    """PREPROCESSING_HOOKS: every endpoint also answers without its trailing slash; document it once."""
    return [endpoint for endpoint in endpoints if endpoint[0].endswith("/")]
