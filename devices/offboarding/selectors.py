"""Reads of the offboarding playbook: the mailboxes one may offboard, and the offboardings one may read."""
from __future__ import annotations

from django.db.models import Count, Exists, OuterRef

from devices.models import Device, Offboarding, OffboardingDevice
from devices.offboarding.services import PERMISSION
from devices.selectors import devices_for
from devices.views.search import matching
from easconsole.permissions import has_perm

MAILBOX_FIELDS = ("user_display_name", "user_principal_name", "user_primary_smtp_address", "mailbox")
SHOWN = 20


def mailboxes(user, text: str) -> list[dict]:
    """The discovered mailboxes matching ``text`` (name, UPN, address) with devices the user may wipe."""
    text = text.strip()
    if len(text) < 2:
        return []
    found = matching(devices_for(user, PERMISSION, Device.objects.filter(missing_since=None)), text, MAILBOX_FIELDS)
    return list(found.values("connector_id", "connector__name", "mailbox", "user_display_name", "user_principal_name")
                .annotate(devices=Count("pk")).order_by("user_display_name", "mailbox")[:SHOWN])


def offboardings_for(user):
    """Offboardings with at least one device the user may read (all of them for a reader of every collection)."""
    if has_perm(user, "devices.read_collection"):
        return Offboarding.objects.all()
    readable = OffboardingDevice.objects.filter(offboarding=OuterRef("pk"), device__in=devices_for(user))
    return Offboarding.objects.filter(Exists(readable))
