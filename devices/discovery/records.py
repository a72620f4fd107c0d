"""Pure functions: what Exchange returned (a device, its statistics, its mailbox) as Device field values.

Nothing here touches the database. Staged rows keep these values as JSON (datetimes as ISO text);
``to_model_values`` turns them back into what the Device model takes. Text is made storable on the
way (``easconsole.text.storable``), and EasDisc.log says which device had what.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from devices.models import Device
from easconsole.exchange.parsing import DEVICE_PROPERTIES, STATISTICS_PROPERTIES, snake
from easconsole.exchange.values import DeviceRecord, DeviceStatistics, RecipientInfo
from easconsole.logs import easdisc
from easconsole.text import storable, unstorable

# Every Device field a discovery writes (the console's own bookkeeping is not among them).
DATA_FIELDS = (
    "name", "identity", "device_id", "mailbox", "user_display_name", "user_principal_name", "user_sam_account_name",
    "user_primary_smtp_address", "friendly_name", "device_type", "device_model", "device_os", "device_os_language",
    "device_user_agent", "device_imei", "device_mobile_operator", "device_telephone_number",
    "device_active_sync_version", "client_type", "client_version", "first_sync_time", "when_created", "when_changed",
    "access_state", "access_state_reason", "access_control_rule", "last_success_sync", "last_sync_attempt_time",
    "last_policy_update_time", "last_ping_heartbeat", "number_of_folders_synced", "policy_applied",
    "policy_application_status", "status", "status_note", "is_remote_wipe_supported", "device_wipe_request_time",
    "device_wipe_sent_time", "device_wipe_ack_time", "last_device_wipe_requestor",
    "account_only_device_wipe_request_time", "account_only_device_wipe_sent_time",
    "account_only_device_wipe_ack_time", "last_account_only_device_wipe_requestor",
)
_MODEL_FIELDS = {f.name: f for f in Device._meta.concrete_fields}
DATETIME_FIELDS = frozenset(n for n in DATA_FIELDS if _MODEL_FIELDS[n].get_internal_type() == "DateTimeField")
_MAX_LENGTH = {n: _MODEL_FIELDS[n].max_length for n in DATA_FIELDS if _MODEL_FIELDS[n].max_length}
_NULLABLE = frozenset(n for n in DATA_FIELDS if _MODEL_FIELDS[n].null)
_RULES = tuple((n, _MAX_LENGTH.get(n), n in _NULLABLE) for n in DATA_FIELDS)  # what clean() does to each field

# The statistics fields copied as they are (device field name -> DeviceStatistics attribute).
_FROM_STATISTICS = {
    "last_success_sync": "last_success_sync", "last_sync_attempt_time": "last_sync_attempt_time",
    "last_policy_update_time": "last_policy_update_time", "last_ping_heartbeat": "last_ping_heartbeat",
    "number_of_folders_synced": "number_of_folders_synced", "policy_applied": "device_policy_applied",
    "policy_application_status": "device_policy_application_status", "status": "status",
    "status_note": "status_note", "is_remote_wipe_supported": "is_remote_wipe_supported",
    "device_wipe_request_time": "device_wipe_request_time", "device_wipe_sent_time": "device_wipe_sent_time",
    "device_wipe_ack_time": "device_wipe_ack_time", "last_device_wipe_requestor": "last_device_wipe_requestor",
    "account_only_device_wipe_request_time": "account_only_device_wipe_request_time",
    "account_only_device_wipe_sent_time": "account_only_device_wipe_sent_time",
    "account_only_device_wipe_ack_time": "account_only_device_wipe_ack_time",
    "last_account_only_device_wipe_requestor": "last_account_only_device_wipe_requestor",
}


# The Exchange property each field comes from, to name it in EasDisc.log.
_PROPERTY_OF = {
    **{snake(name): name for name in (*STATISTICS_PROPERTIES, *DEVICE_PROPERTIES)},
    "name": "Name (UserName_DeviceType)", "access_state": "DeviceAccessState",
    "access_state_reason": "DeviceAccessStateReason", "access_control_rule": "DeviceAccessControlRule",
    "policy_applied": "DevicePolicyApplied", "policy_application_status": "DevicePolicyApplicationStatus",
    "friendly_name": "FriendlyName", "mailbox": "Identity (mailbox)", "user_principal_name": "UserPrincipalName",
    "user_sam_account_name": "SamAccountName", "user_primary_smtp_address": "PrimarySmtpAddress",
}


# The statistics discovery asks Exchange for: those the device object lacks (the rest it has too).
# About a third fewer properties than all statistics: received about 40% faster.
STATISTICS_KEPT = (
    "Guid", "Identity", "LastSuccessSync", "LastSyncAttemptTime", "LastPolicyUpdateTime", "LastPingHeartbeat",
    "NumberOfFoldersSynced", "DeviceAccessState", "DeviceAccessStateReason", "DeviceAccessControlRule",
    "DevicePolicyApplied", "DevicePolicyApplicationStatus", "Status", "StatusNote", "IsRemoteWipeSupported",
    "DeviceWipeRequestTime", "DeviceWipeSentTime", "DeviceWipeAckTime", "LastDeviceWipeRequestor",
    "AccountOnlyDeviceWipeRequestTime", "AccountOnlyDeviceWipeSentTime", "AccountOnlyDeviceWipeAckTime",
    "LastAccountOnlyDeviceWipeRequestor",
)


@dataclass(frozen=True)
class MailboxOwner:
    """What discovery keeps of a device's mailbox: its names, to name the device and find its user."""

    display_name: str = ""
    sam_account_name: str = ""
    user_principal_name: str = ""
    primary_smtp_address: str = ""

    @classmethod
    def from_recipient(cls, recipient: RecipientInfo) -> "MailboxOwner":
        return cls(recipient.display_name or "", recipient.sam_account_name or "",
                   recipient.user_principal_name or "", recipient.primary_smtp_address or "")


# What a staged mailbox keeps (DiscoveryStagedMailbox's fields, as mailbox_fields gives them).
MAILBOX_FIELDS = ("identity_key", "alias_key", "display_name", "sam_account_name", "user_principal_name",
                  "primary_smtp_address")


def mailbox_fields(mailbox: RecipientInfo) -> dict[str, str]:
    """What a staged mailbox keeps (its keys lower case), made storable; EasDisc.log names a mailbox that needed it."""
    raw = {"Identity": mailbox.identity or "", "Alias": mailbox.alias or "", "DisplayName": mailbox.display_name or "",
           "SamAccountName": mailbox.sam_account_name or "", "UserPrincipalName": mailbox.user_principal_name or "",
           "PrimarySmtpAddress": mailbox.primary_smtp_address or ""}
    fixed, changed = {}, []
    for name, value in raw.items():
        fixed[name], changes = storable(value)
        if changes:
            changed.append(f"{name}: {', '.join(changes)}")
    if changed:
        easdisc.warning("Mailbox %s has characters the inventory cannot store; stored with %s",
                        fixed["Identity"] or "(no identity)", "; ".join(changed))
    return {"identity_key": fixed["Identity"].strip().lower()[:1024], "alias_key": fixed["Alias"].strip().lower()[:256],
            "display_name": fixed["DisplayName"][:256], "sam_account_name": fixed["SamAccountName"][:256],
            "user_principal_name": fixed["UserPrincipalName"][:256],
            "primary_smtp_address": fixed["PrimarySmtpAddress"][:320]}


def mailbox_keys(device: DeviceRecord) -> tuple[str, str]:
    """How a device finds its mailbox: (the mailbox's Identity, its alias), lower case.

    Exchange's UserDisplayName on a device is its mailbox's Identity (the canonical name
    ``contoso.com/Users/Anna Smith``); the device's own Identity starts with the mailbox's alias.
    """
    return (storable(device.user_display_name or "")[0].strip().lower(),
            storable(device.mailbox)[0].strip().lower())


def device_name(user: str, device_type: str) -> str:
    """ConfigMgr's name of an Exchange connector device: ``<user>_<DeviceType>``."""
    return f"{user}_{device_type}"


def inactive_since(device: DeviceRecord, stats: DeviceStatistics | None) -> dt.datetime | None:
    """When the device last synced (its first sync if it never did): what "inactive" is measured from."""
    if stats is not None and stats.last_success_sync is not None:
        return stats.last_success_sync
    if stats is not None and stats.first_sync_time is not None:
        return stats.first_sync_time
    return device.first_sync_time


def is_inactive(device: DeviceRecord, stats: DeviceStatistics | None, *, now: dt.datetime, days: int) -> bool:
    since = inactive_since(device, stats)
    return since is not None and since < now - dt.timedelta(days=days)


def device_values(device: DeviceRecord, stats: DeviceStatistics | None, owner: MailboxOwner | None) -> dict[str, Any]:
    """The Device fields for one partnership, as Python values (datetimes aware)."""
    owner = owner or MailboxOwner()
    s = stats
    user = owner.sam_account_name or device.mailbox or owner.display_name or "unknown"
    values: dict[str, Any] = {
        "name": device_name(user, device.device_type or ""),
        "identity": device.identity,
        "device_id": device.device_id,
        "mailbox": device.mailbox,
        "user_display_name": owner.display_name or (device.user_display_name or "").rsplit("/", 1)[-1],
        "user_principal_name": owner.user_principal_name,
        "user_sam_account_name": owner.sam_account_name,
        "user_primary_smtp_address": owner.primary_smtp_address,
        "friendly_name": device.friendly_name or (s.device_friendly_name if s else None),
        "device_type": device.device_type,
        "device_model": device.device_model,
        "device_os": device.device_os,
        "device_os_language": device.device_os_language,
        "device_user_agent": device.device_user_agent,
        "device_imei": device.device_imei,
        "device_mobile_operator": device.device_mobile_operator,
        "device_telephone_number": device.device_telephone_number,  # the statistics' copy is obfuscated
        "device_active_sync_version": device.device_active_sync_version or (s.device_active_sync_version if s else None),
        "client_type": device.client_type or (s.client_type if s else None),
        "client_version": device.client_version or (s.client_version if s else None),
        "first_sync_time": device.first_sync_time or (s.first_sync_time if s else None),
        "when_created": device.when_created,
        "when_changed": device.when_changed,
        # The statistics are read after the device object: their access state is the fresher one.
        "access_state": (s.device_access_state if s else None) or device.device_access_state,
        "access_state_reason": (s.device_access_state_reason if s else None) or device.device_access_state_reason,
        "access_control_rule": (s.device_access_control_rule if s else None) or device.device_access_control_rule,
    }
    for name, attribute in _FROM_STATISTICS.items():
        values[name] = getattr(s, attribute) if s is not None else None
    return clean(values, device=device.identity)


def clean(values: dict[str, Any], *, device: str = "") -> dict[str, Any]:
    """Fit values to the model: None becomes "" where the column is not nullable; long text is cut;
    text the database cannot take is made storable, and EasDisc.log says so, naming ``device``."""
    out = {}
    get = values.get
    for name, limit, nullable in _RULES:
        value = get(name)
        if value is None:
            if not nullable:
                value = ""
        elif limit is not None and isinstance(value, str):
            value = value[:limit]
        out[name] = value
    if unstorable("".join([v for v in out.values() if isinstance(v, str)])):  # one look for the usual device
        _make_storable(out, device)
    return out


def _make_storable(values: dict[str, Any], device: str) -> None:
    changed = []
    for name, value in values.items():
        if isinstance(value, str):
            values[name], changes = storable(value)
            if changes:
                changed.append(f"{_PROPERTY_OF.get(name, name)}: {', '.join(changes)}")
    if changed:
        easdisc.warning("Device %s has characters the inventory cannot store; stored with %s",
                        storable(device)[0] or "(no identity)", "; ".join(changed))


def to_json(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in values.items()}


def to_model_values(data: dict[str, Any]) -> dict[str, Any]:
    return {k: dt.datetime.fromisoformat(v) if k in DATETIME_FIELDS and isinstance(v, str) else v
            for k, v in data.items() if k in _MODEL_FIELDS}


def statistics_values(stats: DeviceStatistics) -> dict[str, Any]:
    """The Device fields that one Get-ActiveSyncDeviceStatistics answer refreshes (access, sync, policy, wipe)."""
    values = {name: getattr(stats, attribute) for name, attribute in _FROM_STATISTICS.items()}
    values.update(access_state=stats.device_access_state, access_state_reason=stats.device_access_state_reason,
                  access_control_rule=stats.device_access_control_rule)
    return {name: value for name, value in clean(values, device=stats.identity).items() if name in values}
