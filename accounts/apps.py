from importlib import import_module

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Work accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def import_models(self):
        super().import_models()
        # The connections room's models belong to this app; loaded here (not from
        # accounts.models) so that accounts.models does not import the module that imports it.
        import_module("accounts.connections.models")
        import_module("accounts.connections.federation.models")
        import_module("accounts.connections.issued_tokens")

    def ready(self):
        from accounts import sso_admin  # noqa: F401  (registers the SSO configuration admin)
        from accounts.connections import (
            admin,  # noqa: F401  (registers the connection admin)
            token_cache,
        )
        from accounts.connections.models import ProvisioningConnection, ScimSecretToken
        from accounts.models import Organization

        token_cache.connect_signals(Organization, ProvisioningConnection, ScimSecretToken)
