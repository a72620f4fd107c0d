"""Automatic user device affinity: a device's mailbox owner linked to the console account of the same person.

Matched by user principal name, SamAccountName or primary SMTP address against the console's user
names and email addresses (case-insensitive); a ``DOMAIN\\user`` user name matches the SamAccountName.
Only links whose source is "automatic" are ever created or removed here: manual and imported links
are the administrators'.
"""
from __future__ import annotations

from typing import Collection, Iterable

from django.contrib.auth import get_user_model

from devices.models import UserDeviceAffinity

AUTOMATIC = UserDeviceAffinity.Source.AUTOMATIC


class ConsoleUsers:
    """An index of the active console accounts by the names a mailbox owner can be matched on."""

    def __init__(self) -> None:
        self.by_username: dict[str, int] = {}
        self.by_account: dict[str, int] = {}  # the user part of DOMAIN\user
        self.by_email: dict[str, int] = {}
        rows = get_user_model().objects.filter(is_active=True).order_by("pk").values_list("pk", "username", "email")
        for pk, username, email in rows:
            name = (username or "").strip().lower()
            if name:
                self.by_username.setdefault(name, pk)
                if "\\" in name:
                    self.by_account.setdefault(name.rsplit("\\", 1)[1], pk)
            if email and email.strip():
                self.by_email.setdefault(email.strip().lower(), pk)

    def match(self, *, upn: str, sam: str, smtp: str) -> int | None:
        """The console user of a mailbox owner, or None. User names win over email addresses."""
        upn, sam, smtp = (v.strip().lower() for v in (upn or "", sam or "", smtp or ""))
        for key in (upn, sam, smtp):
            if key and key in self.by_username:
                return self.by_username[key]
        if sam and sam in self.by_account:
            return self.by_account[sam]
        for key in (upn, smtp):
            if key and key in self.by_email:
                return self.by_email[key]
        return None


def apply_affinity(users: ConsoleUsers, owners: Iterable[tuple[int, str, str, str]], *,
                   new: Collection[int] = ()) -> tuple[int, int]:
    """Make the automatic links of these devices what their owners say. Returns (added, removed).

    ``owners`` are (device pk, UPN, SamAccountName, primary SMTP address); ``new`` are devices just
    added to the inventory (they have no links yet). A device whose owner has no console account
    loses its automatic link; a manual or imported link is never touched (when one already links the
    same user, no automatic link is added beside it).
    """
    wanted: dict[int, int | None] = {pk: users.match(upn=upn, sam=sam, smtp=smtp) for pk, upn, sam, smtp in owners}
    if not wanted:
        return 0, 0
    known = [pk for pk in wanted if pk not in new]
    links = UserDeviceAffinity.objects.filter(device_id__in=known).values_list("pk", "device_id", "user_id", "source")
    stale, existing = [], set()
    for pk, device, user, source in (links if known else ()):
        if source == AUTOMATIC and wanted.get(device) != user:
            stale.append(pk)
        else:
            existing.add((device, user))
    removed = UserDeviceAffinity.objects.filter(pk__in=stale).delete()[0] if stale else 0
    added = [UserDeviceAffinity(device_id=device, user_id=user, source=AUTOMATIC)
             for device, user in wanted.items() if user is not None and (device, user) not in existing]
    UserDeviceAffinity.objects.bulk_create(added, ignore_conflicts=True)
    return len(added), removed
