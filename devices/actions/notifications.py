"""Emails about wipes: to the device's user and the connector's notification addresses, from its notification account."""
from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail

from devices.models import Device, DeviceAction

log = logging.getLogger(__name__)


def recipients(device: Device) -> list[str]:
    """Who hears about a wipe of ``device``: its user, and the connector's notification addresses."""
    addresses = [device.user_primary_smtp_address] if device.user_primary_smtp_address else []
    policy = getattr(device.connector, "policy", None) if device.connector else None
    addresses += list(getattr(policy, "admin_mail_recipients", None) or [])
    return list(dict.fromkeys(a for a in addresses if a))


def _send(action: DeviceAction, subject: str, body: str) -> None:
    device = action.device
    if device is None:
        return
    to = recipients(device)
    if not to:
        return
    sender = (device.connector.notification_account if device.connector else "") or settings.DEFAULT_FROM_EMAIL
    try:
        send_mail(subject, body, sender, to)
    except Exception:  # a mail server problem must never undo or block a wipe
        log.exception("Could not send the wipe notification for %s", action.device_name)


def wipe_requested(action: DeviceAction) -> None:
    what = "only the mail account on it" if action.kind == DeviceAction.Kind.ACCOUNT_WIPE else "everything on it"
    _send(action, f"Wipe requested for {action.device_name}",
          f"{action.requested_by_name} asked to wipe {action.device_name} at {action.requested_at:%Y-%m-%d %H:%M} UTC.\n"
          f"At its next sync with Exchange, {what} will be erased. It can be cancelled until then.\n")


def wipe_acknowledged(action: DeviceAction) -> None:
    _send(action, f"{action.device_name} acknowledged the wipe",
          f"{action.device_name} acknowledged the wipe at {action.acknowledged_at:%Y-%m-%d %H:%M} UTC.\n"
          "The acknowledgement proves that the device received the command from Exchange.\n")
