from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("provisioning_logs", "0010_recording_failures"),
    ]

    operations = [
        migrations.AddField(
            model_name="provisioningevent",
            name="client_address",
            field=models.CharField(blank=True, max_length=64, verbose_name="client address"),
        ),
    ]
