"""The periodic tasks of device actions: follow open wipes, and send again what was lost or is due."""
from django.db import migrations

SCHEDULES = [
    ("devices-poll-open-wipes", "devices.actions.tasks.poll_open_wipes"),
    ("devices-requeue-lost-actions", "devices.actions.tasks.requeue_lost_actions"),
]


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func in SCHEDULES:
        Schedule.objects.update_or_create(name=name, defaults={"func": func, "schedule_type": "I", "minutes": 1, "repeats": -1})


def delete(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=[n for n, _f in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("devices", "0004_device_actions"), ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]
    operations = [migrations.RunPython(create, delete)]
