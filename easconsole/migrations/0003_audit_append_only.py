"""Make the audit trail append-only in the database itself, where the database allows."""
from django.db import migrations

from easconsole import append_only


def create(apps, schema_editor):
    for statement in append_only.CREATE.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement)


def drop(apps, schema_editor):
    for statement in append_only.DROP.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("easconsole", "0002_builtin_roles")]
    operations = [migrations.RunPython(create, drop)]
