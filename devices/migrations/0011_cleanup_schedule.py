"""The periodic task of stale-device cleanup: take up the approved runs whose next batch is due."""
from django.db import migrations

NAME = "devices-cleanup-due-runs"


def create(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(name=NAME, defaults={
        "func": "devices.cleanup.tasks.queue_due_runs", "schedule_type": "I", "minutes": 1, "repeats": -1})


def delete(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("devices", "0010_stale_device_cleanup"), ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]
    operations = [migrations.RunPython(create, delete)]
