"""The periodic task of settings pushes: send again what is due or was lost with its worker."""
from django.db import migrations

NAME, FUNC = "policies-requeue-due-pushes", "policies.tasks.requeue_due_pushes"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(name=NAME, defaults={"func": FUNC, "schedule_type": "I", "minutes": 1, "repeats": -1})


def delete(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("policies", "0002_push_and_drift"),
                    ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]
    operations = [migrations.RunPython(create, delete)]
