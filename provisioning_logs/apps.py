from django.apps import AppConfig


class ProvisioningLogsConfig(AppConfig):
    name = "provisioning_logs"
    verbose_name = "Provisioning logs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from provisioning_logs import tasks  # noqa: F401  (queues outbox deliveries: delivery_requested)
