"""Reads of Assets and Compliance, given the user: which devices and collections they may see or act on.

A device is within reach of a permission if the user holds it on any collection that contains the
device (DESIGN.md §4), or holds it globally.
"""
from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from devices.models import Collection, CollectionMember, Device, DeviceAction
from easconsole.permissions import has_perm, objects_for


def collections_for(user, perm: str = "devices.read_collection") -> QuerySet:
    return objects_for(user, perm, Collection.objects.all())


def devices_for(user, perm: str = "devices.read_collection", queryset: QuerySet | None = None) -> QuerySet:
    """The devices ``user`` holds ``perm`` on, through a collection containing them (all, if held globally)."""
    queryset = Device.objects.all() if queryset is None else queryset
    if not user.is_active:
        return queryset.none()
    if has_perm(user, perm):
        return queryset
    # The user's few collections first, as ids, then a semi-join on the membership: nested in the device
    # query, the permission subqueries were run again for every device on SQLite.
    collections = list(collections_for(user, perm).values_list("pk", flat=True))
    return queryset.filter(pk__in=CollectionMember.objects.filter(collection__in=collections).values("device_id"))


def actions_for(user) -> QuerySet:
    """The device actions on the devices ``user`` may read (all of them, with the permission held globally)."""
    actions = DeviceAction.objects.select_related("connector")
    if has_perm(user, "devices.read_collection"):
        return actions
    return actions.filter(device__in=devices_for(user))


def can_act_on(user, perm: str, device: Device) -> bool:
    return devices_for(user, perm, Device.objects.filter(pk=device.pk)).exists()


DEFAULT_INACTIVE_DAYS = 30  # the inactive devices report's default, and Reports ▸ Overview's figure


def inactive(queryset: QuerySet, days: int, now=None) -> QuerySet:
    """Devices whose last successful sync is more than ``days`` days ago, or that never synced."""
    now = now or timezone.now()
    return queryset.filter(Q(last_success_sync__lt=now - dt.timedelta(days=days)) | Q(last_success_sync__isnull=True))
