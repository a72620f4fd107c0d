"""Output objects: each Exchange object as the Record (type names, properties in Exchange's order) it
serialises to. Builders only read the store; callers hold the organization lock.

Unlimited<T> values (policy limits) are given as the text Exchange prints ("Unlimited", "8",
"00:15:00"); AD object identities as their canonical names.
"""
from __future__ import annotations

import uuid
from typing import Any

from .model import (ACCESS_LEVEL, ACCESS_REASON, ACCESS_STATE, CHARACTERISTIC, CLIENT_TYPE, POLICY_STATUS,
                    RECIPIENT_TYPE, RECIPIENT_TYPE_DETAILS, REASON_NAMES, SERVER_EDITION, SERVER_ROLE, STATE_NAMES,
                    WIPE_STATUS, AccessRule, eas_at_least, Device, MailboxPolicy, User, to_dt)
from .store import Store
from .types import ExchangeServer, Record

_D = "Microsoft.Exchange.Data."
_AD_BASE = (_D + "Directory.ADObject", _D + "Directory.ADRawEntry", _D + "ConfigurableObject", "System.Object")
_CONFIG_BASE = (_D + "Directory.ADConfigurationObject",) + _AD_BASE
T_DEVICE = (_D + "Directory.SystemConfiguration.MobileDevice",) + _CONFIG_BASE
T_STATS = ("Microsoft.Exchange.Management.Tasks.MobileDeviceConfiguration", "System.Object")
T_RULE = (_D + "Directory.SystemConfiguration.ActiveSyncDeviceAccessRule",) + _CONFIG_BASE
T_ORG = (_D + "Directory.SystemConfiguration.ActiveSyncOrganizationSettings",) + _CONFIG_BASE
T_POLICY = (_D + "Directory.SystemConfiguration.MobileMailboxPolicy",
            _D + "Directory.SystemConfiguration.MailboxPolicy") + _CONFIG_BASE
T_CAS = (_D + "Directory.Management.CASMailbox", _D + "Directory.Management.ADPresentationObject") + _AD_BASE
T_MAILBOX = (_D + "Directory.Management.Mailbox", _D + "Directory.Management.MailEnabledOrgPerson",
             _D + "Directory.Management.MailEnabledRecipient", _D + "Directory.Management.ADPresentationObject") + _AD_BASE
T_RECIPIENT = (_D + "Directory.Management.ReducedRecipient",) + _AD_BASE
T_USER = (_D + "Directory.Management.User", _D + "Directory.Management.ADPresentationObject") + _AD_BASE
T_SERVER = (_D + "Directory.Management.ExchangeServer", _D + "Directory.Management.ADPresentationObject") + _AD_BASE

_STATES = [ACCESS_STATE[n] for n in STATE_NAMES]
_REASONS = [ACCESS_REASON[n] for n in REASON_NAMES]
_POLICY_STATUSES = list(POLICY_STATUS.values())
_DEVICE_SCHEMA_VERSION = "0.10 (14.0.100.0)"
_RECIPIENT_VERSION = "0.20 (15.0.0.0)"
_WIPE_PENDING_NOTE = "The device will be wiped the next time it connects to the server."
_WIPE_DONE_NOTE = "The device has confirmed that it was wiped."
_AO_UNSUPPORTED_NOTE = ("The device doesn't support account-only remote wipe (it requires Exchange ActiveSync 16.1), "
                        "so the request can't be delivered. Cancel it and wipe the whole device instead.")


def dc_name(store: Store) -> str:
    return f"DC01.{store.domain}"


def user_identity(store: Store, user: User) -> str:
    return f"{store.domain}/Users/{user.site}/{user.name}"


def device_properties(store: Store, d: Device, u: User) -> dict[str, Any]:
    """The Get-ActiveSyncDevice properties; also the getter source for -Filter and -SortBy."""
    identity = f"{u.alias}\\ExchangeActiveSyncDevices\\{d.device_type}§{d.device_id}"
    changed = to_dt(d.when_changed)
    created = to_dt(d.when_created)
    return {
        "FriendlyName": store.friendly_name(d, u), "DeviceId": d.device_id, "DeviceImei": d.imei,
        "DeviceMobileOperator": d.operator, "DeviceOS": d.os, "DeviceOSLanguage": d.os_language,
        "DeviceTelephoneNumber": d.phone, "DeviceType": d.device_type, "DeviceUserAgent": d.user_agent,
        "DeviceModel": d.model, "FirstSyncTime": to_dt(d.first_sync), "UserDisplayName": user_identity(store, u),
        "DeviceAccessState": _STATES[d.access_state], "DeviceAccessStateReason": _REASONS[d.access_reason],
        "DeviceAccessControlRule": d.access_rule, "DeviceActiveSyncVersion": d.eas_version,
        "ClientVersion": d.client_version, "ClientType": CLIENT_TYPE[d.client_type], "IsManaged": False,
        "IsCompliant": False, "IsDisabled": False, "ProvisioningFlags": 0, "AdminDisplayName": None,
        "ExchangeVersion": _DEVICE_SCHEMA_VERSION, "Name": f"{d.device_type}§{d.device_id}",
        "DistinguishedName": store.device_dn(d, u), "Identity": identity, "Guid": uuid.UUID(int=d.guid),
        "ObjectCategory": f"{store.domain}/Configuration/Schema/ms-Exch-Active-Sync-Device",
        "ObjectClass": ["top", "msExchActiveSyncDevice"], "WhenChanged": changed, "WhenCreated": created,
        "WhenChangedUTC": changed, "WhenCreatedUTC": created, "OrganizationId": None, "Id": identity,
        "OriginatingServer": dc_name(store), "IsValid": True, "ObjectState": "Unchanged",
    }


def device_record(store: Store, d: Device, u: User) -> Record:
    props = device_properties(store, d, u)
    return Record(T_DEVICE, props, props["Identity"])


def wipe_status(d: Device) -> tuple[str, str]:
    """Status and StatusNote, by the rule of Exchange's MobileDeviceConfiguration.Status."""
    if d.wipe_ack is not None:
        return "DeviceWipeSucceeded", _WIPE_DONE_NOTE
    if d.wipe_request is not None or d.wipe_sent is not None:
        if not d.wipe_supported:
            return "DeviceBlocked", ""
        return "DeviceWipePending", _WIPE_PENDING_NOTE
    if d.ao_ack is not None:
        return "AccountOnlyDeviceWipeSucceeded", _WIPE_DONE_NOTE
    if d.ao_request is not None:
        if not eas_at_least(d.eas_version, "16.1"):
            return "AccountOnlyDeviceWipePending", _AO_UNSUPPORTED_NOTE
        return "AccountOnlyDeviceWipePending", _WIPE_PENDING_NOTE
    return "DeviceOk", ""


def statistics_record(store: Store, d: Device, u: User, show_recovery: bool = False) -> Record:
    identity = f"{u.alias}\\ExchangeActiveSyncDevices\\{d.device_type}§{d.device_id}"
    status, note = wipe_status(d)
    policy = store.policy_of(u)
    recovery = None
    if policy.settings.get("PasswordRecoveryEnabled"):
        recovery = "%08d" % (d.guid % 10 ** 8) if show_recovery else "********"
    phone = d.phone
    props = {
        "FirstSyncTime": to_dt(d.first_sync), "LastPolicyUpdateTime": to_dt(d.last_policy_update),
        "LastSyncAttemptTime": to_dt(d.last_attempt), "LastSuccessSync": to_dt(d.last_success),
        "DeviceType": d.device_type, "DeviceID": d.device_id, "DeviceUserAgent": d.user_agent,
        "DeviceWipeSentTime": to_dt(d.wipe_sent), "DeviceWipeRequestTime": to_dt(d.wipe_request),
        "DeviceWipeAckTime": to_dt(d.wipe_ack), "AccountOnlyDeviceWipeSentTime": to_dt(d.ao_sent),
        "AccountOnlyDeviceWipeRequestTime": to_dt(d.ao_request), "AccountOnlyDeviceWipeAckTime": to_dt(d.ao_ack),
        "LastPingHeartbeat": d.heartbeat, "RecoveryPassword": recovery, "DeviceModel": d.model,
        "DeviceImei": d.imei, "DeviceFriendlyName": store.friendly_name(d, u), "DeviceOS": d.os,
        "DeviceOSLanguage": d.os_language,
        # Exchange obfuscates the phone number in statistics (DeviceInfo.ObfuscatePhoneNumber).
        "DevicePhoneNumber": ("*" * (len(phone) - 4) + phone[-4:]) if phone else None,
        "MailboxLogReport": None, "DeviceEnableOutboundSMS": False, "DeviceMobileOperator": d.operator,
        "Identity": identity, "Guid": uuid.UUID(int=d.guid), "IsRemoteWipeSupported": d.wipe_supported,
        "Status": WIPE_STATUS[status], "StatusNote": note,
        "DeviceAccessState": _STATES[d.access_state], "DeviceAccessStateReason": _REASONS[d.access_reason],
        "DeviceAccessControlRule": d.access_rule, "DevicePolicyApplied": policy.name,
        "DevicePolicyApplicationStatus": _POLICY_STATUSES[d.policy_status],
        "LastDeviceWipeRequestor": d.wipe_requestor, "LastAccountOnlyDeviceWipeRequestor": d.ao_requestor,
        "ClientVersion": d.client_version, "NumberOfFoldersSynced": d.folders, "SyncStateUpgradeTime": None,
        "ClientType": CLIENT_TYPE[d.client_type], "DeviceActiveSyncVersion": d.eas_version,
        "IsValid": True, "ObjectState": "Unchanged",
    }
    return Record(T_STATS, props, identity)


def _recipient_common(store: Store, u: User) -> dict[str, Any]:
    smtp = f"{u.alias}@{store.domain}"
    return {"Alias": u.alias, "DisplayName": u.display_name, "Name": u.name, "PrimarySmtpAddress": smtp,
            "EmailAddresses": [f"SMTP:{smtp}"], "SamAccountName": u.sam}


def _ad_tail(store: Store, u: User, version: str = _RECIPIENT_VERSION) -> dict[str, Any]:
    identity = user_identity(store, u)
    return {"ExchangeVersion": version, "Identity": identity, "Guid": uuid.UUID(int=u.guid),
            "DistinguishedName": store.user_dn(u), "OrganizationalUnit": f"{store.domain}/Users/{u.site}",
            "WhenChanged": to_dt(u.when_changed), "WhenCreated": to_dt(u.when_created),
            "WhenChangedUTC": to_dt(u.when_changed), "WhenCreatedUTC": to_dt(u.when_created),
            "OriginatingServer": dc_name(store), "IsValid": True, "ObjectState": "Unchanged"}


def cas_mailbox_properties(store: Store, u: User) -> dict[str, Any]:
    props = {
        "Name": u.name, "ActiveSyncAllowedDeviceIDs": list(u.allowed_ids),
        "ActiveSyncBlockedDeviceIDs": list(u.blocked_ids), "ActiveSyncMailboxPolicy": store.policy_of(u).name,
        "ActiveSyncMailboxPolicyIsDefaulted": u.policy is None, "ActiveSyncDebugLogging": False,
        "ActiveSyncEnabled": u.activesync_enabled, "HasActiveSyncDevicePartnership": bool(u.device_keys),
        "ActiveSyncSuppressReadReceipt": False, "OWAEnabled": True, "EwsEnabled": True, "ECPEnabled": True,
        "PopEnabled": False, "ImapEnabled": False, "MAPIEnabled": True, "ServerName": u.server.lower(),
        "DisplayName": u.display_name, "PrimarySmtpAddress": f"{u.alias}@{store.domain}", "SamAccountName": u.sam,
        "LinkedMasterAccount": None, "ExternalDirectoryObjectId": "",
    }
    props.update(_ad_tail(store, u))
    return props


def mailbox_properties(store: Store, u: User) -> dict[str, Any]:
    props = _recipient_common(store, u)
    props.update({
        "UserPrincipalName": store.upn(u), "WindowsEmailAddress": f"{u.alias}@{store.domain}",
        "RecipientType": RECIPIENT_TYPE["UserMailbox"], "RecipientTypeDetails": RECIPIENT_TYPE_DETAILS[u.type_details],
        "Database": u.database, "ServerName": u.server.lower(), "HiddenFromAddressListsEnabled": False,
        "LegacyExchangeDN": f"/o={store.name}/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn={u.alias}",
        "ExchangeGuid": uuid.UUID(int=u.guid ^ 0x5A5A), "ExternalDirectoryObjectId": "",
    })
    props.update(_ad_tail(store, u))
    return props


def recipient_properties(store: Store, u: User) -> dict[str, Any]:
    props = _recipient_common(store, u)
    props.update({
        "FirstName": u.first, "LastName": u.last,
        "RecipientType": RECIPIENT_TYPE["UserMailbox"], "RecipientTypeDetails": RECIPIENT_TYPE_DETAILS[u.type_details],
        "WindowsLiveID": "", "ExternalDirectoryObjectId": "", "HasActiveSyncDevicePartnership": bool(u.device_keys),
        "ActiveSyncMailboxPolicy": store.policy_of(u).name, "ActiveSyncMailboxPolicyIsDefaulted": u.policy is None,
        "Database": u.database, "ServerName": u.server.lower(),
    })
    props.update(_ad_tail(store, u))
    return props


def user_properties(store: Store, u: User) -> dict[str, Any]:
    props = {"Name": u.name, "DisplayName": u.display_name, "FirstName": u.first, "LastName": u.last,
             "UserPrincipalName": store.upn(u), "SamAccountName": u.sam,
             "WindowsEmailAddress": f"{u.alias}@{store.domain}", "RecipientType": RECIPIENT_TYPE["UserMailbox"],
             "RecipientTypeDetails": RECIPIENT_TYPE_DETAILS[u.type_details],
             "AccountDisabled": False}
    props.update(_ad_tail(store, u))
    return props


def recipient_record(kind: str, store: Store, u: User) -> Record:
    builder, types = {"cas": (cas_mailbox_properties, T_CAS), "mailbox": (mailbox_properties, T_MAILBOX),
                      "recipient": (recipient_properties, T_RECIPIENT), "user": (user_properties, T_USER)}[kind]
    props = builder(store, u)
    return Record(types, props, props["Identity"])


def _config_dn(store: Store, *cns: str) -> str:
    inner = ",".join(f"CN={cn}" for cn in cns)
    return (f"{inner},CN={store.name},CN=Microsoft Exchange,CN=Services,CN=Configuration,{store.domain_dn}")


def rule_record(store: Store, rule: AccessRule) -> Record:
    identity = rule.identity
    props = {"Name": identity, "QueryString": rule.query, "Characteristic": CHARACTERISTIC[rule.characteristic],
             "AccessLevel": ACCESS_LEVEL[rule.level], "AdminDisplayName": "", "ExchangeVersion": _DEVICE_SCHEMA_VERSION,
             "DistinguishedName": _config_dn(store, identity, "Mobile Mailbox Settings"), "Identity": identity,
             "Guid": uuid.UUID(int=rule.guid), "WhenChanged": to_dt(rule.when_changed),
             "WhenCreated": to_dt(rule.when_created), "WhenChangedUTC": to_dt(rule.when_changed),
             "WhenCreatedUTC": to_dt(rule.when_created), "IsValid": True, "ObjectState": "Unchanged"}
    return Record(T_RULE, props, identity)


def org_settings_record(store: Store) -> Record:
    s = store.org_settings
    props = {"Name": "Mobile Mailbox Settings", "DefaultAccessLevel": ACCESS_LEVEL[s["DefaultAccessLevel"]],
             "UserMailInsert": s["UserMailInsert"], "AdminMailRecipients": list(s["AdminMailRecipients"]),
             "OtaNotificationMailInsert": s["OtaNotificationMailInsert"],
             "AllowAccessForUnSupportedPlatform": s["AllowAccessForUnSupportedPlatform"],
             "DeviceFiltering": None, "ExchangeVersion": _DEVICE_SCHEMA_VERSION,
             "DistinguishedName": _config_dn(store, "Mobile Mailbox Settings"), "Identity": "Mobile Mailbox Settings",
             "Guid": uuid.UUID(int=s["Guid"]), "WhenChanged": to_dt(s["WhenChanged"]),
             "WhenCreated": to_dt(s["WhenCreated"]), "OrganizationId": None, "IsValid": True, "ObjectState": "Unchanged"}
    return Record(T_ORG, props, "Mobile Mailbox Settings")


def policy_record(store: Store, policy: MailboxPolicy) -> Record:
    props: dict[str, Any] = {"Name": policy.name}
    for key, value in policy.settings.items():
        props[key] = list(value) if isinstance(value, list) else value
    props.update({"IsDefault": policy.is_default, "IsDefaultPolicy": policy.is_default,
                  "ExchangeVersion": _DEVICE_SCHEMA_VERSION,
                  "DistinguishedName": _config_dn(store, policy.name, "Mobile Mailbox Policies"),
                  "Identity": policy.name, "Guid": uuid.UUID(int=policy.guid),
                  "WhenChanged": to_dt(policy.when_changed), "WhenCreated": to_dt(policy.when_created),
                  "IsValid": True, "ObjectState": "Unchanged"})
    return Record(T_POLICY, props, policy.name)


def server_record(store: Store, server: ExchangeServer) -> Record:
    cas, mbx = "ClientAccess" in server.roles, "Mailbox" in server.roles
    role = SERVER_ROLE["Mailbox, ClientAccess" if cas and mbx else "ClientAccess" if cas else "Mailbox"]
    props = {"Name": server.name, "Fqdn": server.fqdn, "Domain": store.domain, "Edition": SERVER_EDITION["Enterprise"],
             "ServerRole": role, "Site": server.site, "AdminDisplayVersion": server.version,
             "ExchangeVersion": "0.1 (8.0.535.0)", "IsClientAccessServer": cas, "IsMailboxServer": mbx,
             "IsHubTransportServer": mbx, "IsEdgeServer": False, "IsUnifiedMessagingServer": False,
             "IsExchange2007OrLater": True, "IsE14OrLater": True, "IsE15OrLater": True,
             "OrganizationalUnit": None, "Identity": server.name, "Guid": server.guid,
             "DistinguishedName": _config_dn(store, server.name, "Servers", "Exchange Administrative Group (FYDIBOHF23SPDLT)",
                                             "Administrative Groups"),
             "IsValid": True, "ObjectState": "Unchanged"}
    return Record(T_SERVER, props, server.name)
