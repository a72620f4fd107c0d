"""The built-in security roles, with ConfigMgr's role IDs."""
from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = [
    (
        "Full Administrator",
        "SMS0001R",
        "Grants every permission: connectors, mobile device settings and access rules, devices, security.",
        [
            "easconsole.read_site", "easconsole.modify_site", "easconsole.modify_connector_policy",
            "easconsole.assign_role", "easconsole.view_auditevent",
            "devices.read_collection", "devices.modify_resource", "devices.delete_resource", "devices.modify_collection",
        ],
    ),
    (
        "Operations Administrator",
        "SMS000ER",
        "Wipes, cancels wipes, allows, blocks and deletes devices, and edits user device affinity.",
        [
            "easconsole.read_site", "easconsole.view_auditevent",
            "devices.read_collection", "devices.modify_resource", "devices.delete_resource",
        ],
    ),
    (
        "Read-only Analyst",
        "SMS0002R",
        "Reads inventory, reports, status, logs and the audit trail, and exports them. Changes nothing.",
        ["easconsole.read_site", "easconsole.view_auditevent", "devices.read_collection"],
    ),
]


def create(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the roles need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    Role = apps.get_model("easconsole", "Role")
    for name, role_id, description, perms in ROLES:
        role, _ = Role.objects.update_or_create(role_id=role_id, defaults={"name": name, "description": description})
        role.permissions.set(
            [Permission.objects.get(content_type__app_label=p.split(".")[0], codename=p.split(".")[1]) for p in perms]
        )


class Migration(migrations.Migration):
    dependencies = [("easconsole", "0001_initial"), ("devices", "0002_all_mobile_devices"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
