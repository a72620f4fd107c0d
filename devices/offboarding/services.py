"""Offboarding a leaver (docs/offboarding.md): one call snapshots the devices of their mailbox into the
audit trail, requests a wipe of each through the device actions (account-only where the device
supports it, full where chosen or where it does not), and, once every wipe has ended
(acknowledged, failed, expired or cancelled), turns Exchange ActiveSync off for the mailbox with
``Set-CASMailbox -ActiveSyncEnabled $false`` so that no device, old or new, syncs with it again.

ActiveSync is turned off last on purpose: with it off Exchange answers every device of the mailbox
with HTTP 403 before any EAS command, so a wipe still waiting would never reach its device.

Permission: Delete resource (what a wipe needs) on every device of the mailbox, through the
collections holding them, as for a wipe of each; an administrator who may not wipe one of them may
not offboard the mailbox.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from devices.actions import rules, services as actions
from devices.models import Device, DeviceAction, Offboarding, OffboardingDevice
from devices.selectors import devices_for
from easconsole import audit
from easconsole.credentials import CredentialError
from easconsole.exchange import errors as exchange_errors
from easconsole.models import AuditEvent
from easconsole.services.connectors import connector_gateway, connector_lease

log = logging.getLogger("easconsole.easdisc")
Kind, State, Block = DeviceAction.Kind, DeviceAction.State, Offboarding.Block
PERMISSION = rules.PERMISSION[Kind.WIPE]
FINAL = {State.ACKNOWLEDGED, State.DONE, State.CANCELLED, State.FAILED, State.EXPIRED}
CMDLET = "Set-CASMailbox"

# What the snapshot keeps of each device: the evidence of what the leaver had.
SNAPSHOT_FIELDS = ("name", "device_id", "device_type", "device_model", "device_os", "device_imei", "friendly_name",
                   "device_active_sync_version", "last_success_sync", "access_state", "access_state_reason", "status")


class OffboardingRefused(Exception):
    """The offboarding cannot start (an unknown mailbox); the message says why."""


def mailbox_devices(*, connector_id: int, mailbox: str):
    """Every device the console knows of the mailbox, those Exchange no longer has included."""
    return Device.objects.filter(connector_id=connector_id, mailbox__iexact=mailbox).select_related("connector")


def wipe_kind(device: Device, *, full: bool) -> str:
    """Account-only where the device and its Exchange can do it, unless a full wipe was chosen."""
    return Kind.WIPE if full or rules.account_wipe_unavailable(device) is not None else Kind.ACCOUNT_WIPE


def refused_devices(user, devices) -> list[Device]:
    permitted = set(devices_for(user, PERMISSION, Device.objects.filter(pk__in=[d.pk for d in devices])).values_list("pk", flat=True))
    return [d for d in devices if d.pk not in permitted]


def snapshot(device: Device) -> dict:
    values = {field: getattr(device, field) for field in SNAPSHOT_FIELDS}
    values["last_success_sync"] = device.last_success_sync.isoformat() if device.last_success_sync else None
    return {"pk": device.pk, **values}


def start_offboarding(*, user, connector_id: int, mailbox: str, full_wipe_device_ids: Iterable[int] = (),
                      address: str | None = None) -> Offboarding:
    """Offboard the user of ``mailbox`` (its Exchange ``Identity``, as devices name it) on a connector.

    Args:
        full_wipe_device_ids: console ids (pk) of the devices to reset to factory settings; the others
            get an account-only wipe where they support it, a full wipe where they do not.

    Raises:
        OffboardingRefused: the console knows no device of this mailbox.
        PermissionDenied: the user may not wipe every device of the mailbox (the refusal is audited).
    """
    devices = list(mailbox_devices(connector_id=connector_id, mailbox=mailbox))
    if not devices:
        raise OffboardingRefused(_("The console knows no device of the mailbox %(mailbox)s.") % {"mailbox": mailbox})
    refused = refused_devices(user, devices)
    if refused:
        audit.record(user=user, action="offboard", address=address, outcome=AuditEvent.Outcome.DENIED,
                     object_type="mailbox", object_repr=mailbox,
                     message="Not permitted to wipe: " + ", ".join(d.name for d in refused))
        raise PermissionDenied
    full = {int(pk) for pk in full_wipe_device_ids}
    first = devices[0]
    with transaction.atomic():
        offboarding = Offboarding.objects.create(
            connector_id=connector_id, mailbox=first.mailbox, user_display_name=first.user_display_name,
            user_principal_name=first.user_principal_name, requested_by=user, requested_by_name=user.get_username(),
            address=address)
        evidence = [snapshot(d) for d in devices]
        audit.record(user=user, action="offboard", obj=offboarding, address=address, changes={"devices": evidence},
                     message=f"Offboarding of {offboarding}: {len(devices)} device(s); ActiveSync is turned off for "
                             f"{offboarding.mailbox} once every wipe has ended.", cmdlet=CMDLET,
                     parameters=block_parameters(offboarding))
        for device, values in zip(devices, evidence):
            _request_wipe(offboarding, device, values, full=device.pk in full, user=user, address=address)
    transaction.on_commit(lambda: offboarding_progress(offboarding.pk))
    return offboarding


def _request_wipe(offboarding, device, values, *, full, user, address) -> OffboardingDevice:
    """The device's wipe: the one already open (it is followed as it is), or a new request."""
    row = OffboardingDevice(offboarding=offboarding, device=device, snapshot=values)
    row.wipe = actions.open_wipe(device)
    if device.missing_since:
        row.refusal = _("Exchange no longer has this device.")
    elif row.wipe is None:
        try:
            row.wipe = actions.action_request(device=device, kind=wipe_kind(device, full=full), user=user, address=address)
        except actions.ActionRefused as refused:  # e.g. gone from Exchange: said on the outcome page
            row.refusal = str(refused)
    row.save()
    return row


def block_parameters(offboarding: Offboarding) -> dict:
    return {"Identity": offboarding.mailbox, "ActiveSyncEnabled": False}


def open_wipes(offboarding: Offboarding):
    return DeviceAction.objects.filter(offboardings__offboarding=offboarding).exclude(state__in=FINAL)


def offboarding_progress(offboarding_id: int) -> Offboarding | None:
    """Once every wipe of the offboarding has ended, queue turning ActiveSync off (once)."""
    with transaction.atomic():
        offboarding = Offboarding.objects.select_for_update().filter(pk=offboarding_id, block_state=Block.WAITING).first()
        if offboarding is None or open_wipes(offboarding).exists():
            return offboarding
        offboarding.block_state, offboarding.block_requested_at = Block.REQUESTED, timezone.now()
        offboarding.save(update_fields=["block_state", "block_requested_at"])
        transaction.on_commit(lambda: queue_block(offboarding.pk))
    return offboarding


@receiver(post_save, sender=DeviceAction, dispatch_uid="offboarding_wipe_ended")
def wipe_ended(sender, instance: DeviceAction, **kwargs) -> None:
    if instance.is_wipe and instance.state in FINAL:
        for offboarding_id in (Offboarding.objects.filter(devices__wipe=instance, block_state=Block.WAITING)
                               .values_list("pk", flat=True)):
            transaction.on_commit(lambda pk=offboarding_id: offboarding_progress(pk))


def queue_block(offboarding_id: int) -> None:
    from django_q.tasks import async_task

    async_task("devices.offboarding.tasks.block_mailbox", offboarding_id, task_name=f"Offboarding {offboarding_id}",
               group="Offboarding")


def block_mailbox(offboarding_id: int) -> Offboarding | None:
    """Turn ActiveSync off for the offboarded mailbox (the task's body); retried while Exchange cannot be reached."""
    now = timezone.now()
    with transaction.atomic():
        offboarding = (Offboarding.objects.select_for_update(of=("self",)).select_related("connector", "requested_by")
                       .filter(pk=offboarding_id, block_state=Block.REQUESTED).exclude(block_next_attempt_at__gt=now).first())
        if offboarding is None:
            return None
        offboarding.block_attempts += 1
        offboarding.block_next_attempt_at = now + connector_lease(offboarding.connector, operations=1)
        offboarding.save(update_fields=["block_attempts", "block_next_attempt_at"])
    user, connector = offboarding.requested_by, offboarding.connector
    if connector is None:
        return _finish(offboarding, Block.FAILED, error="The Exchange Server connector was removed.")
    devices = list(mailbox_devices(connector_id=connector.pk, mailbox=offboarding.mailbox))
    if user is None or not user.is_active or refused_devices(user, devices):
        return _finish(offboarding, Block.FAILED, error="The requester no longer has the permission.")
    try:
        with connector_gateway(connector) as gateway:
            result = gateway.set_active_sync_enabled(offboarding.mailbox, False)
    except CredentialError as error:
        return _retry(offboarding, f"The connector's password cannot be decrypted now ({error}).")
    except (exchange_errors.ExchangeThrottledError, exchange_errors.ExchangeConnectionError) as error:
        return _retry(offboarding, str(error))
    except (exchange_errors.ExchangeError, ValueError) as error:
        return _finish(offboarding, Block.FAILED, error=str(error))
    return _finish(offboarding, Block.DONE, answer=json.dumps(result.as_dict()))


def _retry(offboarding: Offboarding, reason: str) -> Offboarding:
    """Tried again on the device actions' schedule, for as long as a device action lives; then Failed."""
    delay = actions.RETRY_DELAYS[min(offboarding.block_attempts - 1, len(actions.RETRY_DELAYS) - 1)]
    next_attempt = timezone.now() + delay
    hours = settings.EASCONSOLE_WIPE_EXPIRY_HOURS
    if next_attempt > offboarding.block_requested_at + dt.timedelta(hours=hours):
        return _finish(offboarding, Block.FAILED, error=f"Exchange did not take it within {hours} hours "
                                                        f"({offboarding.block_attempts} attempts). Last attempt: {reason}")
    offboarding.block_next_attempt_at = next_attempt
    offboarding.block_error = (f"{reason} ActiveSync will be turned off at the next attempt, at {next_attempt:%H:%M:%S} UTC "
                               f"(attempt {offboarding.block_attempts + 1}).")
    offboarding.save(update_fields=["block_next_attempt_at", "block_error"])
    log.warning(f"Offboarding of {offboarding.mailbox}: {offboarding.block_error}")
    return offboarding


def _finish(offboarding: Offboarding, state: str, *, error: str = "", answer: str = "") -> Offboarding:
    now = timezone.now()
    offboarding.block_state, offboarding.block_error, offboarding.block_answer = state, error, answer
    offboarding.block_next_attempt_at, offboarding.finished_at = None, now
    if state == Block.DONE:
        offboarding.blocked_at = now
    with transaction.atomic():
        offboarding.save()
        audit.record(user=offboarding.requested_by, action="offboard: turn ActiveSync off", obj=offboarding,
                     address=offboarding.address, cmdlet=CMDLET, parameters=block_parameters(offboarding),
                     outcome=AuditEvent.Outcome.SUCCESS if state == Block.DONE else AuditEvent.Outcome.FAILURE,
                     message=error or f"ActiveSync turned off for {offboarding.mailbox}; the offboarding is finished.",
                     exchange_answer=answer or error)
    log.info(f"Offboarding of {offboarding.mailbox}: {offboarding.get_block_state_display()}" + (f" ({error})" if error else ""))
    return offboarding


def resume_offboardings() -> int:
    """Queue what falls due: a retry of the mailbox block, or an offboarding whose wipes ended unnoticed."""
    now = timezone.now()
    for offboarding_id in Offboarding.objects.filter(block_state=Block.WAITING).values_list("pk", flat=True):
        offboarding_progress(offboarding_id)
    due = list(Offboarding.objects.filter(block_state=Block.REQUESTED).exclude(block_next_attempt_at__gt=now)
               .values_list("pk", flat=True))
    for offboarding_id in due:
        queue_block(offboarding_id)
    return len(due)
