"""Writes of the Administration workspace: one function per use case, each audited.

Views, the demo seeding command and tests all call these; forms only validate.
"""
from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Model, Q
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import assign_perm

from easconsole import audit
from easconsole.models import Role, RoleAssignment, Site

# The permissions that roles grant; only these are rebuilt from role assignments.
ROLE_MANAGED = Q(content_type__app_label="easconsole", content_type__model__in=["site", "role", "auditevent"]) | Q(
    content_type__app_label="devices", content_type__model="collection"
)


def snapshot(obj: Model, fields: list[str]) -> dict[str, str]:
    """The printable values of ``fields``, to record what a change did."""
    values = {}
    for name in fields:
        field = obj._meta.get_field(name)
        if field.many_to_many:
            values[name] = ", ".join(sorted(str(o) for o in getattr(obj, name).all())) if obj.pk else ""
        else:
            values[name] = str(getattr(obj, name, "") or "")
    return values


def diff(before: dict[str, str], after: dict[str, str]) -> dict[str, list[str]]:
    return {name: [before.get(name, ""), value] for name, value in after.items() if before.get(name, "") != value}


def object_save(*, obj: Model, user, fields: list[str], address: str | None = None, m2m: dict | None = None) -> Model:
    """Validate and save a model instance built by a form, and audit what changed.

    Args:
        obj: the instance with its new values (not saved yet).
        fields: the fields the person could change, recorded in the audit trail.
        m2m: many-to-many values to set after saving, by field name.
    """
    creating = obj.pk is None
    before = {} if creating else snapshot(type(obj).objects.get(pk=obj.pk), fields)
    with transaction.atomic():
        obj.full_clean()
        obj.save()
        for name, values in (m2m or {}).items():
            getattr(obj, name).set(values)
        changes = diff(before, snapshot(obj, fields))
        audit.record(user=user, action="create" if creating else "modify", obj=obj, address=address, changes=changes)
    return obj


def object_delete(*, obj: Model, user, address: str | None = None) -> None:
    with transaction.atomic():
        audit.record(user=user, action="delete", obj=obj, address=address)
        obj.delete()


SITE_FIELDS = ["code", "name", "description"]


def site_save(*, site: Site, user, address: str | None = None) -> Site:
    return object_save(obj=site, user=user, fields=SITE_FIELDS, address=address)


def site_delete(*, site: Site, user, address: str | None = None) -> None:
    object_delete(obj=site, user=user, address=address)


ASSIGNMENT_FIELDS = ["role", "user", "group", "all_sites", "sites", "all_collections", "collections"]


def role_assignment_save(*, assignment: RoleAssignment, user, sites=(), collections=(), address: str | None = None) -> RoleAssignment:
    """Create or change a role assignment, then rebuild the permissions it implies."""
    previous = None if assignment.pk is None else RoleAssignment.objects.get(pk=assignment.pk)
    with transaction.atomic():
        if assignment.group is not None and assignment.group.pk is None:
            assignment.group.save()  # a directory group named before any member signed in
            assignment.group = assignment.group  # sets group_id, which validation reads
        object_save(
            obj=assignment,
            user=user,
            fields=ASSIGNMENT_FIELDS,
            address=address,
            m2m={"sites": [] if assignment.all_sites else sites, "collections": [] if assignment.all_collections else collections},
        )
        principal_permissions_rebuild(user=assignment.user, group=assignment.group)
        if previous and (previous.user_id, previous.group_id) != (assignment.user_id, assignment.group_id):
            principal_permissions_rebuild(user=previous.user, group=previous.group)
    return assignment


def role_assignment_delete(*, assignment: RoleAssignment, user, address: str | None = None) -> None:
    principal_user, principal_group = assignment.user, assignment.group
    with transaction.atomic():
        object_delete(obj=assignment, user=user, address=address)
        principal_permissions_rebuild(user=principal_user, group=principal_group)


def principal_permissions_rebuild(*, user=None, group: Group | None = None) -> None:
    """Derive a user's or group's permissions from their role assignments.

    A role assigned for all sites (or collections) grants its site (collection) permissions
    globally; one limited to chosen objects grants them on those objects through django-guardian.
    Only role-managed permissions are touched.
    """
    managed = Permission.objects.filter(ROLE_MANAGED)
    with transaction.atomic():
        if user is not None:
            user.user_permissions.remove(*managed)
            UserObjectPermission.objects.filter(user=user, permission__in=managed).delete()
            assignments = RoleAssignment.objects.filter(user=user)
            global_perms = user.user_permissions
            target = user
        else:
            group.permissions.remove(*managed)
            GroupObjectPermission.objects.filter(group=group, permission__in=managed).delete()
            assignments = RoleAssignment.objects.filter(group=group)
            global_perms = group.permissions
            target = group
        for assignment in assignments.prefetch_related("role__permissions__content_type", "sites", "collections"):
            for perm in assignment.role.permissions.all():
                model = perm.content_type.model
                if model == "site" and not assignment.all_sites:
                    objects = list(assignment.sites.all())
                elif model == "collection" and not assignment.all_collections:
                    objects = list(assignment.collections.all())
                else:
                    global_perms.add(perm)
                    continue
                if objects:
                    assign_perm(perm, target, objects)
    if user is not None:
        for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache", "_easconsole_persona", "_easconsole_object_perms",
                      "_easconsole_holds"):
            user.__dict__.pop(cache, None)


def role_by_name(name: str) -> Role:
    return Role.objects.get(name=name)
