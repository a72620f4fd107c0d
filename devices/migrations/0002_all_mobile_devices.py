from django.db import migrations


def create(apps, schema_editor):
    Collection = apps.get_model("devices", "Collection")
    Collection.objects.get_or_create(
        name="All Mobile Devices",
        defaults={"is_builtin": True, "comment": "Every mobile device discovered by the Exchange Server connectors."},
    )


class Migration(migrations.Migration):
    dependencies = [("devices", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
