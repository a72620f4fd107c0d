"""Whether a device can honour its mailbox policy: DevicePolicyApplicationStatus at its next sync.

Decisions the reference leaves open, chosen here from what the protocol and the vendors document:
- EAS 2.5 devices know only the password settings of the first provisioning document (password
  required, alphanumeric, minimum length, inactivity lock, failed attempts, simple password); any other
  setting away from its default is not honoured.
- Apple devices (DeviceType iPhone or iPad) do not honour the settings Exchange counts as needing an
  Enterprise CAL for device features they lack or Apple does not offer through EAS (storage cards,
  Wi-Fi, infrared, Bluetooth, tethering, desktop sync, remote desktop, text messaging, unsigned
  applications and installations, the in-ROM application list).
A device that leaves a configured setting unhonoured reports PartiallyApplied; otherwise AppliedInFull.
"""
from __future__ import annotations

from typing import Any

from .catalog import POLICY_DEFAULTS
from .model import Device, eas_at_least

APPLIED_IN_FULL, PARTIALLY_APPLIED = 2, 3

EAS_25_SETTINGS = frozenset({
    "DevicePasswordEnabled", "AlphanumericDevicePasswordRequired", "MinDevicePasswordLength",
    "MaxInactivityTimeDeviceLock", "MaxDevicePasswordFailedAttempts", "AllowSimpleDevicePassword",
    "AllowNonProvisionableDevices", "DevicePolicyRefreshInterval", "AllowExternalDeviceManagement",
})
NOT_ON_APPLE = frozenset({
    "AllowStorageCard", "RequireStorageCardEncryption", "AllowWiFi", "AllowIrDA", "AllowBluetooth",
    "AllowInternetSharing", "AllowDesktopSync", "AllowRemoteDesktop", "AllowTextMessaging",
    "AllowUnsignedApplications", "AllowUnsignedInstallationPackages", "UnapprovedInROMApplicationList",
})


def unhonoured(device: Device, settings: dict[str, Any]) -> list[str]:
    """The policy settings, away from their default, that this device cannot enforce."""
    changed = [k for k, v in settings.items() if k in POLICY_DEFAULTS and v != POLICY_DEFAULTS[k]
               and not (v in (None, [], ()) and POLICY_DEFAULTS[k] in (None, [], ()))]
    out = []
    old = not eas_at_least(device.eas_version, "12.0")
    apple = device.device_type.lower() in ("iphone", "ipad")
    for key in changed:
        if (old and key not in EAS_25_SETTINGS) or (apple and key in NOT_ON_APPLE):
            out.append(key)
    return out


def application_status(device: Device, settings: dict[str, Any]) -> int:
    return PARTIALLY_APPLIED if unhonoured(device, settings) else APPLIED_IN_FULL
