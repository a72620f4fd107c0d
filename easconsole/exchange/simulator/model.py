"""The organization's data: compact rows for users and devices, and the .NET enums they expose.

Rows are slotted dataclasses because an organization may hold 100,000 devices and the whole
simulator must stay small; times are stored as integer epoch seconds and turned into datetimes only
when a Record is built.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from .types import EnumValue

_SYS = "Microsoft.Exchange.Data.Directory.SystemConfiguration."


def _enum(type_name: str, names: list[str], values: list[int] | None = None) -> dict[str, EnumValue]:
    values = values if values is not None else list(range(len(names)))
    return {n: EnumValue(type_name, n, v) for n, v in zip(names, values)}


ACCESS_STATE = _enum(_SYS + "DeviceAccessState", ["Unknown", "Allowed", "Blocked", "Quarantined", "DeviceDiscovery"])
ACCESS_REASON = _enum(
    _SYS + "DeviceAccessStateReason",
    ["Unknown", "Global", "Individual", "DeviceRule", "Upgrade", "Policy", "UserAgentsChanges",
     "RecentCommands", "Watsons", "OutOfBudgets", "SyncCommands", "EnableNotificationEmail"],
)
ACCESS_LEVEL = _enum(_SYS + "DeviceAccessLevel", ["Allow", "Block", "Quarantine"])
CHARACTERISTIC = _enum(_SYS + "DeviceAccessCharacteristic", ["DeviceType", "DeviceModel", "DeviceOS", "UserAgent", "XMSWLHeader"])
POLICY_STATUS = _enum(_SYS + "DevicePolicyApplicationStatus",
                      ["Unknown", "NotApplied", "AppliedInFull", "PartiallyApplied", "ExternallyManaged"])
# Enum order taken from the decompiled Microsoft.Exchange.Management.Tasks.DeviceRemoteWipeStatus.
WIPE_STATUS = _enum("Microsoft.Exchange.Management.Tasks.DeviceRemoteWipeStatus",
                    ["DeviceOk", "DeviceBlocked", "DeviceWipePending", "DeviceWipeSucceeded",
                     # Exchange 2016+ names seen in Microsoft's EXO scripts; values are assumed.
                     "AccountOnlyDeviceWipePending", "AccountOnlyDeviceWipeSucceeded"])
ACCESS_LEVEL_NAMES = tuple(ACCESS_LEVEL)
CHARACTERISTIC_NAMES = tuple(CHARACTERISTIC)
SERVER_ROLE = _enum("Microsoft.Exchange.Data.Directory.SystemConfiguration.ServerRole",
                    ["Mailbox", "ClientAccess", "Mailbox, ClientAccess"], [2, 4, 6])
SERVER_EDITION = _enum("Microsoft.Exchange.Data.ServerEditionType", ["Standard", "Enterprise"], [1, 2])
COMMAND_TYPE = _enum("System.Management.Automation.CommandTypes", ["Function", "Cmdlet"], [2, 8])
CLIENT_TYPE = _enum(_SYS + "MobileClientType", ["EAS", "MOWA", "Outlook"])
RECIPIENT_TYPE = _enum("Microsoft.Exchange.Data.Directory.Recipient.RecipientType", ["UserMailbox", "User"], [2, 1])
RECIPIENT_TYPE_DETAILS = _enum("Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails",
                               ["UserMailbox", "SharedMailbox", "RoomMailbox"], [1, 4, 16])

# Index into the enum dicts by position, for the integers stored on a Device.
STATE_NAMES = list(ACCESS_STATE)
REASON_NAMES = list(ACCESS_REASON)


def epoch(value: dt.datetime) -> int:
    return int(value.timestamp())


_UTC = dt.timezone.utc
_EPOCH0 = dt.datetime(1970, 1, 1, tzinfo=_UTC)


def to_dt(seconds: int | None) -> dt.datetime | None:
    if seconds is None:
        return None
    # timedelta addition is ~3x cheaper than datetime.fromtimestamp and never consults the local zone.
    return _EPOCH0 + dt.timedelta(seconds=seconds)


@dataclass(slots=True)
class User:
    key: int
    first: str
    last: str
    name: str  # AD common name, unique: "Anna Smith" or "Anna Smith 2"
    display_name: str
    alias: str
    sam: str
    guid: int
    site: str  # OU under Users, one per AD site
    database: str
    server: str  # mailbox server name
    when_created: int
    when_changed: int
    activesync_enabled: bool = True
    # Tuples, shared when empty (most mailboxes): replaced, never mutated in place.
    allowed_ids: tuple[str, ...] = ()
    blocked_ids: tuple[str, ...] = ()
    policy: str | None = None  # None: the default policy (ActiveSyncMailboxPolicyIsDefaulted)
    type_details: str = "UserMailbox"
    device_keys: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Device:
    key: int
    user_key: int
    device_type: str
    device_id: str
    model: str
    os: str
    os_language: str
    user_agent: str
    imei: str
    operator: str
    phone: str
    eas_version: str
    client_type: str
    client_version: str
    guid: int
    first_sync: int
    last_success: int | None
    last_attempt: int | None
    when_created: int
    when_changed: int
    last_policy_update: int | None
    friendly_name: str | None = None  # None: derived from the owner's first name and the model
    wipe_supported: bool = True
    provisionable: bool = True
    dormant: bool = False  # lost/abandoned: not synced by sync_all
    access_state: int = 1
    access_reason: int = 1
    access_rule: str | None = None
    policy_status: int = 2
    folders: int = 4
    heartbeat: int | None = 470
    wipe_request: int | None = None
    wipe_sent: int | None = None
    wipe_ack: int | None = None
    wipe_requestor: str | None = None
    wipe_notify: list[str] | None = None
    ao_request: int | None = None
    ao_sent: int | None = None
    ao_ack: int | None = None
    ao_requestor: str | None = None
    wiped: bool = False  # a wipe was acknowledged: the device never syncs again


@dataclass(slots=True)
class AccessRule:
    query: str
    characteristic: str
    level: str
    guid: int
    when_created: int
    when_changed: int

    @property
    def identity(self) -> str:
        # Exchange shows a rule as "QueryString (Characteristic)".
        return f"{self.query} ({self.characteristic})"


@dataclass(slots=True)
class MailboxPolicy:
    name: str
    guid: int
    is_default: bool
    settings: dict[str, Any]
    when_created: int
    when_changed: int


@dataclass(slots=True)
class Account:
    name: str  # canonical "CONTOSO\\user"
    password: str
    denied: set[str] = field(default_factory=set)  # lower-case cmdlet names
    budget: tuple[int, int] | None = None  # (max cmdlets, period seconds)


def eas_at_least(version: str, minimum: str) -> bool:
    """Compare EAS protocol versions numerically ("2.5" < "16.1")."""
    def parts(v: str) -> tuple[int, ...]:
        try:
            return tuple(int(x) for x in v.split("."))
        except ValueError:
            return (0,)
    return parts(version) >= parts(minimum)


def guid_of(value: int) -> uuid.UUID:
    return uuid.UUID(int=value)


def slot_names(cls: type) -> list[str]:
    return list(cls.__slots__)  # type: ignore[attr-defined]
