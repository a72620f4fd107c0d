"""What each action needs and when it is not offered: pure functions of a device and its open actions."""
from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from devices.models import Device, DeviceAction
from easconsole.exchange.online_settings import online_name

Kind = DeviceAction.Kind

PERMISSION = {
    Kind.WIPE: "devices.delete_resource",
    Kind.ACCOUNT_WIPE: "devices.delete_resource",
    Kind.DELETE: "devices.delete_resource",
    Kind.CANCEL_WIPE: "devices.modify_resource",
    Kind.ALLOW: "devices.modify_resource",
    Kind.BLOCK: "devices.modify_resource",
}

# What the confirmation says will happen, in plain words.
CONSEQUENCE = {
    Kind.WIPE: gettext_lazy("At its next sync, {device} is reset to factory settings: everything on it is erased, not only the mail."),
    Kind.ACCOUNT_WIPE: gettext_lazy("At its next sync, only the mail account is removed from {device} (mail, calendar, contacts); the rest of the device is kept."),
    Kind.CANCEL_WIPE: gettext_lazy("The wipe of {device} is cancelled, if the device has not acknowledged it yet."),
    Kind.ALLOW: gettext_lazy("{device} is added to its user's allowed devices in Exchange and may sync, whatever the access rules say."),
    Kind.BLOCK: gettext_lazy("{device} is added to its user's blocked devices in Exchange and can no longer sync."),
    Kind.DELETE: gettext_lazy("The partnership of {device} is removed from Exchange and the console. If the device syncs again it comes back as new."),
}


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", text or "")[:2])


def account_wipe_unavailable(device: Device) -> str | None:
    """Why an account-only wipe cannot be offered for a device, or None if it can."""
    if version_tuple(device.device_active_sync_version) < (16, 1):
        return _("Account-only wipe needs Exchange ActiveSync 16.1 on the device; this one uses %(v)s.") % {
            "v": device.device_active_sync_version or _("an unknown version")}
    connector = device.connector
    versions = [version_tuple(s.get("version", "").replace("Version", "")) for s in (connector.known_servers if connector else [])]
    if not connector or connector.is_online:
        return None if connector else _("The device's connector was removed.")
    if not versions or max(versions) < (15, 1):
        return _("Account-only wipe needs Exchange Server 2016 or later.")
    return None


def refusal(device: Device, kind: str, *, open_wipe: DeviceAction | None, confirmed_wipe_loss: bool = False) -> str | None:
    """Why ``kind`` cannot be requested on ``device`` now, or None."""
    # A connector installed once keeps working while it is installed again (after a change of its settings).
    if device.connector is None or device.connector.installed_at is None:
        return _("The device's Exchange Server connector is not installed.")
    if device.missing_since and kind != Kind.DELETE:
        return _("Exchange no longer has this device.")
    if kind == Kind.ACCOUNT_WIPE:
        return account_wipe_unavailable(device)
    if kind == Kind.CANCEL_WIPE and open_wipe is None:
        return _("There is no pending wipe to cancel.")
    if kind in (Kind.WIPE, Kind.ACCOUNT_WIPE) and open_wipe is not None and open_wipe.kind != kind:
        return _("Another wipe of this device is already pending.")
    if kind == Kind.DELETE and open_wipe is not None and not confirmed_wipe_loss:
        return _("A wipe of this device is pending: deleting the partnership cancels it. Confirm that you accept this.")
    return None


def planned_command(device: Device, kind: str, notification_addresses: list[str] = ()) -> tuple[str, dict]:
    """The cmdlet and parameters an action sends, for the audit record of the request (in Exchange
    Online's names for an Exchange Online connector: those are the ones sent)."""
    cmdlet, params = _planned_command(device, kind, notification_addresses)
    if device.connector_id and device.connector.is_online:
        cmdlet = online_name(cmdlet)
    return cmdlet, params


def _planned_command(device: Device, kind: str, notification_addresses: list[str] = ()) -> tuple[str, dict]:
    if kind in (Kind.WIPE, Kind.ACCOUNT_WIPE, Kind.CANCEL_WIPE):
        cmdlet = "Clear-MobileDevice" if kind == Kind.ACCOUNT_WIPE else "Clear-ActiveSyncDevice"
        params = {"Identity": device.identity, "Confirm": False}
        if kind == Kind.ACCOUNT_WIPE:
            params["AccountOnly"] = True
        if kind == Kind.CANCEL_WIPE:
            params["Cancel"] = True
        elif notification_addresses:
            params["NotificationEmailAddresses"] = list(notification_addresses)
        return cmdlet, params
    if kind in (Kind.ALLOW, Kind.BLOCK):
        added, removed = ("ActiveSyncAllowedDeviceIDs", "ActiveSyncBlockedDeviceIDs")[:: 1 if kind == Kind.ALLOW else -1]
        return "Set-CASMailbox", {"Identity": device.mailbox, added: {"Add": [device.device_id]}, removed: {"Remove": [device.device_id]}}
    return "Remove-ActiveSyncDevice", {"Identity": device.identity, "Confirm": False}
