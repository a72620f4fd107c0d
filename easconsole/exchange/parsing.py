"""Pure functions: PowerShell output objects (as property dicts) into the gateway's plain values.

Nothing here does I/O. `properties(obj)` flattens a pypsrp object into a dict once; every other function
works on that dict, so they can be unit-tested with plain dicts.

Text is kept as Exchange sent it, which may include a NUL or a lone UTF-16 surrogate from a phone's
own FriendlyName or user agent (decoded leniently, see pypsrp_tuning.py): whoever stores a value makes
it storable (`easconsole.text.storable`), whoever shows a name shows it with `easconsole.text.visible`.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import uuid
from typing import Any, Callable, Mapping

from .values import (AccessRule, DeviceRecord, DeviceStatistics, MailboxPolicy, OrganizationInfo, OrgSettings,
                     RecipientInfo, ServerInfo)

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_ORG_DN = re.compile(r"^CN=Mobile Mailbox Settings,CN=(?P<org>(?:[^,\\]|\\.)+),CN=Microsoft Exchange,CN=Services,"
                     r"CN=Configuration,", re.IGNORECASE)


def properties(obj: Any) -> dict[str, Any]:
    """The properties of a pypsrp output object: adapted (real .NET objects) and extended (Select-Object)."""
    adapted = getattr(obj, "adapted_properties", None) or {}
    extended = getattr(obj, "extended_properties", None) or {}
    return {**adapted, **extended}


def text(value: Any) -> str | None:
    """A string, an enum's name (str() of a pypsrp enum object), or None."""
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def texts(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return (str(value),)


def when(value: Any) -> dt.datetime | None:
    """A CLIXML <DT> (kept as text by pypsrp, up to 7 fraction digits) as an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        raw = str(value).strip()
        try:  # Python 3.11 reads CLIXML's form (7 fraction digits, "Z") itself: the usual case
            parsed = dt.datetime.fromisoformat(raw)
        except ValueError:
            parsed = _lenient_datetime(raw)
        if parsed is None:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)  # Exchange's *UTC properties carry no zone
    return parsed.astimezone(dt.timezone.utc)


def _lenient_datetime(raw: str) -> dt.datetime | None:
    """A date fromisoformat refuses as it is (more fraction digits than it reads, say), or None."""
    if raw.endswith("Z"):
        raw = raw[:-1] + "+00:00"
    m = re.match(r"^(.*T\d\d:\d\d:\d\d)\.(\d+)(.*)$", raw)
    if m:  # Python 3.11 reads 7 digits, but be safe with any count
        raw = f"{m.group(1)}.{m.group(2)[:6].ljust(6, '0')}{m.group(3)}"
    try:
        return dt.datetime.fromisoformat(raw)
    except ValueError:
        return None


def guid(value: Any) -> uuid.UUID | None:
    if value is None or value == "":
        return None
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def integer(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def boolean(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "$true")
    return bool(value)


def plain(value: Any) -> Any:
    """Any property value as JSON-able plain data (for audit rows and policy parameters)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return str(value)


@functools.lru_cache(maxsize=1024)  # the same few dozen names for every object of a discovery
def snake(name: str) -> str:
    """"DeviceAccessStateReason" -> "device_access_state_reason"; "DeviceID" -> "device_id"."""
    return _CAMEL.sub("_", name).lower()


# ---- the converters: property dict -> value ------------------------------------------------------
_DEVICE_CONVERT: dict[str, Callable[[Any], Any]] = {
    "FirstSyncTime": when, "WhenCreated": when, "WhenChanged": when, "ProvisioningFlags": integer,
    "IsManaged": boolean, "IsCompliant": boolean, "IsDisabled": boolean,
}
DEVICE_PROPERTIES = (
    "Identity", "Guid", "DeviceId", "DeviceType", "DeviceModel", "DeviceOS", "DeviceOSLanguage", "DeviceImei",
    "DeviceMobileOperator", "DeviceTelephoneNumber", "DeviceUserAgent", "FriendlyName", "UserDisplayName", "Name",
    "DistinguishedName", "FirstSyncTime", "DeviceAccessState", "DeviceAccessStateReason", "DeviceAccessControlRule",
    "DeviceActiveSyncVersion", "ClientType", "ClientVersion", "ProvisioningFlags", "IsManaged", "IsCompliant",
    "IsDisabled", "WhenCreated", "WhenChanged",
)
STATISTICS_PROPERTIES = (
    "Identity", "Guid", "DeviceID", "DeviceType", "DeviceModel", "DeviceOS", "DeviceFriendlyName",
    "DevicePhoneNumber", "DeviceUserAgent", "DeviceImei", "DeviceMobileOperator", "DeviceActiveSyncVersion",
    "ClientType", "ClientVersion", "FirstSyncTime", "LastSuccessSync", "LastSyncAttemptTime",
    "LastPolicyUpdateTime", "LastPingHeartbeat", "NumberOfFoldersSynced", "DeviceAccessState",
    "DeviceAccessStateReason", "DeviceAccessControlRule", "DevicePolicyApplied", "DevicePolicyApplicationStatus",
    "Status", "StatusNote", "IsRemoteWipeSupported", "DeviceWipeRequestTime", "DeviceWipeSentTime",
    "DeviceWipeAckTime", "LastDeviceWipeRequestor", "AccountOnlyDeviceWipeRequestTime",
    "AccountOnlyDeviceWipeSentTime", "AccountOnlyDeviceWipeAckTime", "LastAccountOnlyDeviceWipeRequestor",
)
MAILBOX_PROPERTIES = ("Identity", "Guid", "Alias", "SamAccountName", "UserPrincipalName", "PrimarySmtpAddress",
                      "DisplayName", "Name", "RecipientTypeDetails")
_STATS_CONVERT: dict[str, Callable[[Any], Any]] = {
    "LastPingHeartbeat": integer, "NumberOfFoldersSynced": integer, "IsRemoteWipeSupported": boolean,
    **{n: when for n in STATISTICS_PROPERTIES if n.endswith("Time") or n == "LastSuccessSync"},
}


# A bulk read sends the same property names, in the same order, for every object: how to read each field
# from them (the property's name as sent, matched without regard to case, or None) is worked out once.
_Plan = tuple[tuple[str, "str | None", Callable[[Any], Any]], ...]
_PLANS: dict[tuple[tuple[str, ...], tuple[str, ...]], _Plan] = {}


def _plan(keys: tuple[str, ...], names: tuple[str, ...], convert: dict[str, Callable[[Any], Any]]) -> _Plan:
    plan = _PLANS.get((keys, names))
    if plan is None:
        sent = {k.lower(): k for k in keys}  # of two names differing only in case, the last one sent
        plan = tuple((snake(name), sent.get(name.lower()), guid if name == "Guid" else convert.get(name, text))
                     for name in names)
        if len(_PLANS) > 256:
            _PLANS.clear()
        _PLANS[(keys, names)] = plan
    return plan


def _fields(props: Mapping[str, Any], names: tuple[str, ...], convert: dict[str, Callable[[Any], Any]]) -> dict[str, Any]:
    get = props.get
    return {field: read(None if key is None else get(key))
            for field, key, read in _plan(tuple(props), names, convert)}


def device(props: Mapping[str, Any]) -> DeviceRecord:
    fields = _fields(props, DEVICE_PROPERTIES, _DEVICE_CONVERT)
    fields["device_id"] = fields["device_id"] or ""
    fields["identity"] = fields["identity"] or ""
    return DeviceRecord(**fields)


def statistics(props: Mapping[str, Any]) -> DeviceStatistics:
    fields = _fields(props, STATISTICS_PROPERTIES, _STATS_CONVERT)
    fields["identity"] = fields["identity"] or ""
    return DeviceStatistics(**fields)


def recipient(props: Mapping[str, Any]) -> RecipientInfo:
    g = props.get
    return RecipientInfo(
        identity=text(g("Identity")) or "", guid=guid(g("Guid")), display_name=text(g("DisplayName")),
        alias=text(g("Alias")), sam_account_name=text(g("SamAccountName")),
        primary_smtp_address=text(g("PrimarySmtpAddress")), user_principal_name=text(g("UserPrincipalName")) or None,
        name=text(g("Name")), recipient_type=text(g("RecipientType")),
        recipient_type_details=text(g("RecipientTypeDetails")), distinguished_name=text(g("DistinguishedName")),
        has_active_sync_device_partnership=boolean(g("HasActiveSyncDevicePartnership")),
        active_sync_mailbox_policy=text(g("ActiveSyncMailboxPolicy")),
    )


def server(props: Mapping[str, Any]) -> ServerInfo:
    roles = tuple(r.strip() for r in (text(props.get("ServerRole")) or "").split(",") if r.strip())
    site = text(props.get("Site")) or ""
    return ServerInfo(name=text(props.get("Name")) or "", fqdn=text(props.get("Fqdn")) or "", roles=roles,
                      site=site_name(site), version=text(props.get("AdminDisplayVersion")) or "")


def site_name(site: str) -> str:
    """"contoso.com/Configuration/Sites/HQ" -> "HQ" (Get-ExchangeServer gives the canonical name)."""
    return site.rstrip("/").rsplit("/", 1)[-1] if site else ""


def access_rule(props: Mapping[str, Any]) -> AccessRule:
    g = props.get
    return AccessRule(identity=text(g("Identity")) or "", name=text(g("Name")) or "",
                      characteristic=text(g("Characteristic")) or "", query_string=text(g("QueryString")) or "",
                      access_level=text(g("AccessLevel")) or "", guid=guid(g("Guid")), when_changed=when(g("WhenChanged")))


def org_settings(props: Mapping[str, Any]) -> OrgSettings:
    g = props.get
    return OrgSettings(identity=text(g("Identity")) or "", default_access_level=text(g("DefaultAccessLevel")) or "",
                       admin_mail_recipients=texts(g("AdminMailRecipients")), user_mail_insert=text(g("UserMailInsert")),
                       ota_notification_mail_insert=text(g("OtaNotificationMailInsert")),
                       distinguished_name=text(g("DistinguishedName")) or "", guid=guid(g("Guid")))


_POLICY_SKIP = {"Name", "IsDefault", "IsDefaultPolicy", "Guid", "Identity", "DistinguishedName", "ExchangeVersion",
                "WhenChanged", "WhenCreated", "WhenChangedUTC", "WhenCreatedUTC", "IsValid", "ObjectState",
                "OrganizationId", "OriginatingServer", "Id", "ObjectCategory", "ObjectClass", "AdminDisplayName"}


def mailbox_policy(props: Mapping[str, Any]) -> MailboxPolicy:
    g = props.get
    is_default = boolean(g("IsDefault")) if g("IsDefault") is not None else boolean(g("IsDefaultPolicy"))
    params = {k: plain(v) for k, v in props.items() if k not in _POLICY_SKIP}
    return MailboxPolicy(name=text(g("Name")) or "", is_default=bool(is_default), guid=guid(g("Guid")),
                         parameters=params)


def organization(props: Mapping[str, Any]) -> OrganizationInfo:
    """Identify the organization from the "Mobile Mailbox Settings" object Exchange reports.

    Its DistinguishedName is `CN=Mobile Mailbox Settings,CN=<Org>,CN=Microsoft Exchange,CN=Services,
    CN=Configuration,DC=...`: the organization's name is the CN after the settings object's.
    """
    dn = text(props.get("DistinguishedName")) or ""
    m = _ORG_DN.match(dn)
    name = re.sub(r"\\(.)", r"\1", m.group("org")) if m else ""
    return OrganizationInfo(name=name, guid=guid(props.get("Guid")), distinguished_name=dn)
