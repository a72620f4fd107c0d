"""Plain values the gateway takes and returns: no pypsrp objects, no Django.

Datetimes are timezone-aware UTC; .NET enums are given as their names (open sets: Exchange may send
names newer than this code knows, so they stay strings).
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

AUTH_METHODS = ("kerberos", "negotiate", "ntlm", "basic")
MAX_CONCURRENCY_LIMIT = 17  # Exchange's PowerShellMaxConcurrency is commonly 18 sessions per account


@dataclass(frozen=True)
class ConnectionSettings:
    """How to reach one Exchange organization (one connector).

    Args:
        sites: AD site name -> configured CAS or CAS array FQDN, in the order to try them.
        port: TCP port of every server's /PowerShell (80 on-premises, 443 with TLS).
        use_tls: HTTPS instead of HTTP with message encryption.
        ca_bundle: path of a CA bundle to validate the server certificate (None: system CAs).
        verify_tls: validate the server certificate at all (False only for a lab).
        auth: "kerberos", "negotiate", "ntlm" or "basic".
        realm: the Kerberos realm (empty: the domain of a user@domain account, in capitals; see kerberos.py).
        kdc: the realm's KDCs, "dc1.contoso.com, dc2.contoso.com:88" (empty: found through DNS).
        keytab: path of a keytab with the account's keys, for Kerberos without a password (None: the password).
        username, password: the connection account; the password is already decrypted by the caller
            and is never logged, shown in repr or put in an exception.
        connect_timeout: seconds to wait for a TCP connection.
        operation_timeout: WSMan OperationTimeout (seconds the server may hold a long-poll).
        read_timeout: seconds to wait for an HTTP answer; must exceed operation_timeout.
        max_concurrency: gateway operations run at once for this connector in this process.
        online: Exchange Online, reached through its REST endpoint (rest.py): `username` is then the
            Entra ID application ID and `password` its credential (a PEM certificate with its private
            key, or a client secret).
        tenant: Exchange Online's tenant ID or domain (e.g. contoso.onmicrosoft.com).
        endpoint: the REST base URL ("" for https://outlook.office365.com; sovereign clouds, simulator).
        authority: the sign-in host ("" for https://login.microsoftonline.com).
        allow_basic_over_http: permit Basic without TLS (sends the password in clear; labs and the
            simulator only; the console should warn).
    """

    sites: dict[str, str]
    username: str = ""
    password: str = field(default="", repr=False, compare=False)
    port: int = 80
    use_tls: bool = False
    ca_bundle: str | None = None
    verify_tls: bool = True
    auth: str = "kerberos"
    realm: str = ""
    kdc: str = ""
    keytab: str | None = None
    connect_timeout: float = 5.0
    operation_timeout: int = 20
    read_timeout: float = 25.0
    max_concurrency: int = 4
    online: bool = False
    allow_basic_over_http: bool = True
    tenant: str = ""
    endpoint: str = ""
    authority: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "sites", dict(self.sites))
        problems = settings_problems(self)
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def sends_password_in_clear(self) -> bool:
        """Basic over plain HTTP: allowed for labs and the simulator, but the console should warn."""
        return self.auth == "basic" and not self.use_tls

    @property
    def connector_key(self) -> tuple[str, ...]:
        """Identifies the connector for the shared concurrency cap (no secret in it)."""
        return (self.username.lower(), *sorted(f"{k}={v}".lower() for k, v in self.sites.items()))


def settings_problems(s: ConnectionSettings) -> list[str]:
    """Everything wrong with the settings, as sentences (empty when valid)."""
    problems = []
    if s.online:
        from .online_settings import online_problems  # Exchange Online's own rules

        return online_problems(s)
    if not s.sites:
        problems.append("at least one AD site with its Client Access Server is required")
    for site, server in s.sites.items():
        if not str(site).strip() or not str(server).strip():
            problems.append("every AD site needs a name and a Client Access Server FQDN")
    if s.auth not in AUTH_METHODS:
        problems.append(f"auth must be one of {', '.join(AUTH_METHODS)}")
    if not 1 <= s.port <= 65535:
        problems.append("port must be between 1 and 65535")
    if not 1 <= s.max_concurrency <= MAX_CONCURRENCY_LIMIT:
        problems.append(f"max_concurrency must be between 1 and {MAX_CONCURRENCY_LIMIT} (Exchange allows 18 sessions)")
    if s.connect_timeout <= 0 or s.operation_timeout <= 0:
        problems.append("timeouts must be positive")
    if s.read_timeout <= s.operation_timeout:
        problems.append("read_timeout must be longer than operation_timeout")
    if s.auth == "basic" and not s.use_tls and not s.allow_basic_over_http:
        problems.append("Basic authentication over plain HTTP is not allowed")
    return problems


@dataclass(frozen=True)
class OrganizationInfo:
    name: str
    guid: uuid.UUID | None
    distinguished_name: str


@dataclass(frozen=True)
class ServerInfo:
    name: str
    fqdn: str
    roles: tuple[str, ...]  # e.g. ("Mailbox", "ClientAccess")
    site: str  # the AD site's short name, e.g. "HQ"
    version: str  # AdminDisplayVersion, e.g. "Version 15.1 (Build 2507.6)"

    @property
    def is_client_access(self) -> bool:
        return "ClientAccess" in self.roles

    @property
    def is_mailbox(self) -> bool:
        return "Mailbox" in self.roles


@dataclass(frozen=True)
class DeviceRecord:
    """One Get-ActiveSyncDevice object (a user + device partnership)."""

    identity: str
    guid: uuid.UUID | None
    device_id: str
    device_type: str | None = None
    device_model: str | None = None
    device_os: str | None = None
    device_os_language: str | None = None
    device_imei: str | None = None
    device_mobile_operator: str | None = None
    device_telephone_number: str | None = None
    device_user_agent: str | None = None
    friendly_name: str | None = None
    user_display_name: str | None = None
    name: str | None = None
    distinguished_name: str | None = None
    first_sync_time: dt.datetime | None = None
    device_access_state: str | None = None
    device_access_state_reason: str | None = None
    device_access_control_rule: str | None = None
    device_active_sync_version: str | None = None
    client_type: str | None = None
    client_version: str | None = None
    provisioning_flags: int | None = None
    is_managed: bool | None = None
    is_compliant: bool | None = None
    is_disabled: bool | None = None
    when_created: dt.datetime | None = None
    when_changed: dt.datetime | None = None

    @property
    def mailbox(self) -> str:
        """The mailbox part of the identity ("jdoe" of "jdoe\\ExchangeActiveSyncDevices\\...")."""
        for sep in ("\\ExchangeActiveSyncDevices\\", "/ExchangeActiveSyncDevices/"):
            if sep in self.identity:
                return self.identity.split(sep, 1)[0]
        return ""


@dataclass(frozen=True)
class DeviceStatistics:
    """One Get-ActiveSyncDeviceStatistics object: sync, policy and wipe state of a device."""

    identity: str
    guid: uuid.UUID | None
    device_id: str | None = None
    device_type: str | None = None
    device_model: str | None = None
    device_os: str | None = None
    device_friendly_name: str | None = None
    device_phone_number: str | None = None  # Exchange obfuscates it here
    device_user_agent: str | None = None
    device_imei: str | None = None
    device_mobile_operator: str | None = None
    device_active_sync_version: str | None = None
    client_type: str | None = None
    client_version: str | None = None
    first_sync_time: dt.datetime | None = None
    last_success_sync: dt.datetime | None = None
    last_sync_attempt_time: dt.datetime | None = None
    last_policy_update_time: dt.datetime | None = None
    last_ping_heartbeat: int | None = None
    number_of_folders_synced: int | None = None
    device_access_state: str | None = None
    device_access_state_reason: str | None = None
    device_access_control_rule: str | None = None
    device_policy_applied: str | None = None
    device_policy_application_status: str | None = None
    status: str | None = None  # DeviceOk, DeviceWipePending, DeviceWipeSucceeded, ...
    status_note: str | None = None
    is_remote_wipe_supported: bool | None = None
    device_wipe_request_time: dt.datetime | None = None
    device_wipe_sent_time: dt.datetime | None = None
    device_wipe_ack_time: dt.datetime | None = None
    last_device_wipe_requestor: str | None = None
    account_only_device_wipe_request_time: dt.datetime | None = None
    account_only_device_wipe_sent_time: dt.datetime | None = None
    account_only_device_wipe_ack_time: dt.datetime | None = None
    last_account_only_device_wipe_requestor: str | None = None


@dataclass(frozen=True)
class RecipientInfo:
    identity: str
    guid: uuid.UUID | None
    display_name: str | None
    alias: str | None
    sam_account_name: str | None
    primary_smtp_address: str | None
    user_principal_name: str | None = None  # not a Get-Recipient property; None unless Exchange sends it
    name: str | None = None
    recipient_type: str | None = None
    recipient_type_details: str | None = None
    distinguished_name: str | None = None
    has_active_sync_device_partnership: bool | None = None
    active_sync_mailbox_policy: str | None = None


@dataclass(frozen=True)
class AccessRule:
    identity: str  # "QueryString (Characteristic)"
    name: str
    characteristic: str  # DeviceType, DeviceModel, DeviceOS, UserAgent, XMSWLHeader
    query_string: str
    access_level: str  # Allow, Block, Quarantine
    guid: uuid.UUID | None = None
    when_changed: dt.datetime | None = None


@dataclass(frozen=True)
class OrgSettings:
    identity: str
    default_access_level: str
    admin_mail_recipients: tuple[str, ...]
    user_mail_insert: str | None
    ota_notification_mail_insert: str | None
    distinguished_name: str
    guid: uuid.UUID | None


@dataclass(frozen=True)
class MailboxPolicy:
    name: str
    is_default: bool
    guid: uuid.UUID | None
    parameters: dict[str, Any]  # every other property, as JSON-able plain values


@dataclass(frozen=True)
class PreflightResult:
    missing: list[str]
    role_groups: dict[str, str]  # missing cmdlet -> role group that grants it

    @property
    def ok(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class CommandResult:
    """What a write did: for the audit trail. `parameters` is JSON-able and never holds a secret."""

    cmdlet: str
    parameters: dict[str, Any]
    warnings: tuple[str, ...] = ()
    server: str = ""
    created: Any = None  # the AccessRule or MailboxPolicy a New- cmdlet returned

    def as_dict(self) -> dict[str, Any]:
        """The JSON-able part, for an audit row."""
        return {"cmdlet": self.cmdlet, "parameters": dict(self.parameters), "warnings": list(self.warnings),
                "server": self.server}
