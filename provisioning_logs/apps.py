from django.apps import AppConfig


class ProvisioningLogsConfig(AppConfig):
    name = "provisioning_logs"
    verbose_name = "Provisioning logs"
    default_auto_field = "django.db.models.BigAutoField"
