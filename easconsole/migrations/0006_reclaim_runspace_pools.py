"""Every 15 minutes, close the runspace pools the console left open on Exchange (easconsole/exchange/pools.py)."""
from django.db import migrations

NAME = "easconsole-reclaim-runspace-pools"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(name=NAME, defaults={
        "func": "easconsole.tasks.reclaim_runspace_pools", "schedule_type": "I", "minutes": 15, "repeats": -1})


def delete(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("easconsole", "0005_connector_check_and_password_refused"),
                    ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]
    operations = [migrations.RunPython(create, delete)]
