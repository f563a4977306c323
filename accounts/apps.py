from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Work accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from accounts import sso_admin  # noqa: F401  (registers the SSO configuration admin)
