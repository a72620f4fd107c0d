"""Writing user device affinity by hand (Edit Primary Users) and from a file (Import User Device Affinity).

Each change needs Modify resource on a collection holding the device (DESIGN.md §4) and is in the
audit trail, refusals too. An import is checked again at the confirmation: devices deleted since the
preview are dropped (and named), a permission lost refuses it all; the links and their audit records
are written in one transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from devices.affinity.csv_import import BATCH, not_modifiable
from devices.models import Device, UserDeviceAffinity
from devices.selectors import can_act_on, devices_for
from easconsole import audit
from easconsole.models import AuditEvent

PERMISSION = "devices.modify_resource"
Source = UserDeviceAffinity.Source
NAMED_AT_MOST = 20  # devices named in a refusal message


class ImportRefused(PermissionDenied):
    """The import is refused as a whole; the message names the devices or accounts at fault."""


def _deny(*, actor, action: str, device: Device | None, address: str | None, message: str) -> None:
    audit.record(user=actor, action=action, obj=device, address=address, outcome=AuditEvent.Outcome.DENIED, message=message,
                 object_type="" if device is not None else "user device affinity")
    raise PermissionDenied(message)


def affinity_add(*, device: Device, user, source: str = Source.MANUAL, actor, address: str | None = None) -> UserDeviceAffinity:
    """Make ``user`` a primary user of ``device``.

    Raises:
        PermissionDenied: ``actor`` may not modify the device (audited).
        ValidationError: the account is disabled, or already a primary user of the device.
    """
    if not can_act_on(actor, PERMISSION, device):
        _deny(actor=actor, action="add primary user", device=device, address=address,
              message=f"Not permitted to add {user.get_username()} as a primary user.")
    if not user.is_active:
        raise ValidationError(_("The account %(user)s is disabled.") % {"user": user.get_username()})
    with transaction.atomic():
        Device.objects.select_for_update().filter(pk=device.pk).first()  # serialise two administrators
        existing = UserDeviceAffinity.objects.filter(device=device, user=user).first()
        if existing is not None:
            raise ValidationError(_("%(user)s is already a primary user of %(device)s (%(source)s).") % {
                "user": user.get_username(), "device": device.name, "source": existing.get_source_display()})
        affinity = UserDeviceAffinity(device=device, user=user, source=source)
        affinity.full_clean(validate_unique=False)
        affinity.save()
        audit.record(user=actor, action="add primary user", obj=device, address=address,
                     changes={"user": user.get_username(), "source": source})
    return affinity


def affinity_remove(*, affinity: UserDeviceAffinity, actor, address: str | None = None) -> None:
    """Remove one link. An automatic link comes back at the next discovery while Exchange names that user as the owner.

    Raises:
        PermissionDenied: ``actor`` may not modify the device (audited).
    """
    device, username = affinity.device, affinity.user.get_username()
    if not can_act_on(actor, PERMISSION, device):
        _deny(actor=actor, action="remove primary user", device=device, address=address,
              message=f"Not permitted to remove {username} as a primary user.")
    with transaction.atomic():
        deleted = UserDeviceAffinity.objects.filter(pk=affinity.pk).delete()[0]
        if deleted:
            audit.record(user=actor, action="remove primary user", obj=device, address=address,
                         changes={"user": username, "source": affinity.source})


def _named(names: list[str]) -> str:
    shown = ", ".join(names[:NAMED_AT_MOST])
    more = len(names) - NAMED_AT_MOST
    return shown + (_(" and %(n)d more") % {"n": more} if more > 0 else "")


@dataclass(frozen=True)
class Dropped:
    """A previewed link left out at the confirmation: its device was deleted, or left the person's collections, since."""

    line: int | None
    device: str
    reason: str

    def __str__(self) -> str:
        where = _("line %(line)d") % {"line": self.line} if self.line else _("a row")
        return f"{where} ({self.device}): {self.reason}" if self.device else f"{where}: {self.reason}"


@dataclass(frozen=True)
class ImportResult:
    added: int
    already_linked: int
    dropped: list[Dropped] = field(default_factory=list)


def _present_devices(actor, device_pks: list[int]) -> tuple[dict[int, tuple[str, str]], list[tuple[int, str, str]]]:
    """The devices still in the inventory and readable by ``actor`` (pk → name, device ID), and the others with why."""
    rows: dict[int, tuple[str, str, object]] = {}
    visible: set[int] = set()
    for batch in _batches(device_pks):
        rows.update((pk, (name, device_id, missing)) for pk, name, device_id, missing
                    in Device.objects.filter(pk__in=batch).values_list("pk", "name", "device_id", "missing_since"))
        visible.update(devices_for(actor, "devices.read_collection", Device.objects.filter(pk__in=batch, missing_since__isnull=True))
                       .values_list("pk", flat=True))
    present = {pk: rows[pk][:2] for pk in device_pks if pk in visible}
    gone = []
    for pk in device_pks:
        if pk in visible:
            continue
        name = f"{rows[pk][0]} ({rows[pk][1]})" if pk in rows else ""  # the row is gone: the file's line names it
        if pk not in rows or rows[pk][2] is not None:
            gone.append((pk, name, _("the device was deleted since the preview, or Exchange no longer has it")))
        else:
            gone.append((pk, name, _("the device is no longer in a collection you can see")))
    return present, gone


def affinity_import(*, rows: Iterable[Sequence[int]], actor, address: str | None = None, file_name: str = "") -> ImportResult:
    """Link each (device pk, user pk[, line of the file]) of a confirmed preview, in one transaction.

    Each device is checked again: a device deleted since the preview (or no longer in the person's
    collections) is dropped, and the result names the rows dropped. Pairs already linked (by
    discovery or someone else since the preview) are left as they are.

    Raises:
        ImportRefused: a device still there is no longer modifiable by ``actor``, or an account no
            longer exists: nothing is written, the refusal is audited and its message names them.
    """
    lines: dict[tuple[int, int], int | None] = {}
    for device, user, *line in rows:
        lines.setdefault((int(device), int(user)), int(line[0]) if line else None)
    device_pks = sorted({device for device, _user in lines})
    devices, gone = _present_devices(actor, device_pks)
    reasons = {pk: (name, reason) for pk, name, reason in gone}
    dropped = sorted((Dropped(line, *reasons[device]) for (device, _user), line in lines.items() if device in reasons),
                     key=lambda d: (d.line or 0, d.device))
    pairs = [pair for pair in lines if pair[0] in devices]
    user_pks = sorted({user for _device, user in pairs})
    users: dict[int, str] = {}
    for batch in _batches(user_pks):
        users.update(get_user_model().objects.filter(pk__in=batch, is_active=True).values_list("pk", "username"))

    refused = sorted(f"{devices[pk][0]} ({devices[pk][1]})" for pk in not_modifiable(actor, devices))
    disabled = [f"#{pk}" for pk in user_pks if pk not in users]
    problem = ""
    if refused:
        problem = _("You do not have Modify resource on a collection holding these devices, so nothing was imported: %(names)s.") % {
            "names": _named(refused)}
    elif disabled:
        problem = _("Accounts of the preview no longer exist or are disabled (%(names)s): nothing was imported. Upload the file again.") % {
            "names": _named(disabled)}
    if problem:
        audit.record(user=actor, action="import user device affinity", address=address, outcome=AuditEvent.Outcome.DENIED,
                     message=problem, object_type="user device affinity", object_repr=file_name,
                     changes={"rows": len(lines)})
        raise ImportRefused(problem)

    roles, username = audit.roles_of(actor), actor.get_username()
    with transaction.atomic():
        existing: set[tuple[int, int]] = set()
        for batch in _batches(sorted(devices)):
            existing.update(UserDeviceAffinity.objects.filter(device_id__in=batch).values_list("device_id", "user_id"))
        new = [(device, user) for device, user in pairs if (device, user) not in existing]
        UserDeviceAffinity.objects.bulk_create(
            [UserDeviceAffinity(device_id=device, user_id=user, source=Source.IMPORTED) for device, user in new], batch_size=1000)
        # One record per link, as a link added by hand, so each device's history shows it; and one for the import.
        AuditEvent.objects.bulk_create([
            AuditEvent(user=actor, username=username, roles=roles, action="add primary user", object_type=str(Device._meta.verbose_name),
                       object_id=str(device), object_repr=devices[device][0][:300], address=address,
                       changes={"user": users[user], "source": Source.IMPORTED, "file": file_name})
            for device, user in new], batch_size=1000)
        message = f"{len(new)} link(s) added, {len(pairs) - len(new)} already present."
        if dropped:
            message += f" {len(dropped)} row(s) dropped: " + "; ".join(str(d) for d in dropped[:NAMED_AT_MOST])
        audit.record(user=actor, action="import user device affinity", address=address, object_type="user device affinity",
                     object_repr=file_name, message=message[:2000],
                     changes={"added": len(new), "already_linked": len(pairs) - len(new), "dropped": len(dropped),
                              "dropped_lines": [d.line for d in dropped if d.line]})
    return ImportResult(added=len(new), already_linked=len(pairs) - len(new), dropped=dropped)


def _batches(values: list, size: int = BATCH):
    for start in range(0, len(values), size):
        yield values[start:start + size]
