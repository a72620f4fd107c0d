"""Who may do what: global permissions, django-guardian object permissions, and personas.

A permission held globally (a role assigned for all sites or all collections) applies to every
object; one held on objects applies to those objects only. Views and tasks ask through these
functions so that both cases are always considered together.
"""
from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Model, QuerySet
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import get_objects_for_user

# Permissions that make someone an administrator (they land in the console).
ADMIN_PERMISSIONS = (
    "easconsole.modify_site",
    "easconsole.modify_connector_policy",
    "easconsole.assign_role",
    "devices.modify_resource",
    "devices.delete_resource",
    "devices.modify_collection",
)
# Permissions that make someone an auditor (they land in Reports).
READ_PERMISSIONS = ("easconsole.read_site", "devices.read_collection", "easconsole.view_auditevent")

ADMINISTRATOR, ANALYST, END_USER = "administrator", "analyst", "end_user"


def has_perm(user, perm: str, obj: Model | None = None) -> bool:
    """True if ``user`` holds ``perm`` globally, or on ``obj`` when one is given."""
    if not user.is_active:
        return False
    if user.has_perm(perm):
        return True
    return obj is not None and user.has_perm(perm, obj)


def objects_for(user, perm: str, queryset: QuerySet) -> QuerySet:
    """The objects of ``queryset`` on which ``user`` holds ``perm`` (all of them if held globally)."""
    if not user.is_active:
        return queryset.none()
    return get_objects_for_user(user, perm, queryset, accept_global_perms=True)


def holds_anywhere(user, perm: str) -> bool:
    """True if ``user`` holds ``perm`` globally or on at least one object.

    Remembered on the user object, that is for one request (the navigation, the header and the page's buttons
    ask some fifteen times a page), as Django keeps the user's permissions on it.
    """
    if isinstance(user, AnonymousUser) or not user.is_active:
        return False
    held = user.__dict__.setdefault("_easconsole_holds", {})
    if perm not in held:
        held[perm] = user.has_perm(perm) or perm in _object_permissions(user)
    return held[perm]


def _object_permissions(user) -> set[str]:
    """The permissions ``user`` holds on at least one object, directly or through a group (cached on the user)."""
    cached = getattr(user, "_easconsole_object_perms", None)
    if cached is None:
        fields = ("permission__content_type__app_label", "permission__codename")
        rows = UserObjectPermission.objects.filter(user=user).values_list(*fields)
        group_rows = GroupObjectPermission.objects.filter(group__user=user).values_list(*fields)
        # One query (UNION keeps each permission once) rather than one per table: this runs on most pages.
        cached = {f"{app}.{codename}" for app, codename in rows.union(group_rows)}
        user._easconsole_object_perms = cached
    return cached


def persona(user) -> str | None:
    """The persona of a signed-in person: administrator, analyst or end user (None if anonymous)."""
    if not user.is_authenticated:
        return None
    cached = getattr(user, "_easconsole_persona", None)
    if cached is None:
        if user.is_superuser or any(holds_anywhere(user, p) for p in ADMIN_PERMISSIONS):
            cached = ADMINISTRATOR
        elif any(holds_anywhere(user, p) for p in READ_PERMISSIONS):
            cached = ANALYST
        else:
            cached = END_USER
        user._easconsole_persona = cached
    return cached


def is_console_user(user) -> bool:
    return persona(user) in (ADMINISTRATOR, ANALYST)
