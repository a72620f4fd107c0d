"""The required-cmdlet preflight: does the connection account's session offer every cmdlet we use?

Exchange's RBAC trims the session: a cmdlet the account's roles do not grant does not exist, so one
Get-Command lists what is granted. Each missing cmdlet is logged as `Invoking cmdlet <cmdlet> failed`
on the `easconsole.easdisc` logger (EasDisc.log), as ConfigMgr's connector does, and reported with the
role group that grants it.

Role groups (the three the ConfigMgr documentation names; the choice is the least privilege that
grants the cmdlet among them):
- View-Only Organization Management: every Get-* read of devices, statistics, rules, settings,
  policies and recipients (its roles are the View-Only Configuration and View-Only Recipients roles).
- Recipient Management: device and mailbox writes (Clear-/Remove-ActiveSyncDevice, Set-CASMailbox) and
  the organization-wide EAS writes (access rules, organization settings, mailbox policies): in Exchange
  these come with the Mail Recipients / Recipient Policies roles that Recipient Management holds.
- Server Management: Get-ExchangeServer (server discovery for failover) and Set-ADServerSettings
  (forest-wide scope for the session); on-premises only.
"""
from __future__ import annotations

import logging
from typing import Iterable

from .values import PreflightResult

easdisc = logging.getLogger("easconsole.easdisc")

RECIPIENT_MANAGEMENT = "Recipient Management"
VIEW_ONLY_ORGANIZATION_MANAGEMENT = "View-Only Organization Management"
SERVER_MANAGEMENT = "Server Management"

ROLE_GROUP_OF: dict[str, str] = {
    "Clear-ActiveSyncDevice": RECIPIENT_MANAGEMENT,
    "Get-ActiveSyncDevice": VIEW_ONLY_ORGANIZATION_MANAGEMENT,
    "Get-ActiveSyncDeviceAccessRule": VIEW_ONLY_ORGANIZATION_MANAGEMENT,
    "Get-ActiveSyncDeviceStatistics": VIEW_ONLY_ORGANIZATION_MANAGEMENT,
    "Get-ActiveSyncMailboxPolicy": VIEW_ONLY_ORGANIZATION_MANAGEMENT,
    "Get-ActiveSyncOrganizationSettings": VIEW_ONLY_ORGANIZATION_MANAGEMENT,
    "Get-ExchangeServer": SERVER_MANAGEMENT,
    "Get-Recipient": VIEW_ONLY_ORGANIZATION_MANAGEMENT,
    "Set-ADServerSettings": SERVER_MANAGEMENT,
    "Set-ActiveSyncDeviceAccessRule": RECIPIENT_MANAGEMENT,
    "Set-ActiveSyncMailboxPolicy": RECIPIENT_MANAGEMENT,
    "Set-CASMailbox": RECIPIENT_MANAGEMENT,
    "New-ActiveSyncDeviceAccessRule": RECIPIENT_MANAGEMENT,
    "New-ActiveSyncMailboxPolicy": RECIPIENT_MANAGEMENT,
    "Remove-ActiveSyncDevice": RECIPIENT_MANAGEMENT,
    "Get-CASMailbox": VIEW_ONLY_ORGANIZATION_MANAGEMENT,
    "Get-Mailbox": VIEW_ONLY_ORGANIZATION_MANAGEMENT,
    "Set-ActiveSyncOrganizationSettings": RECIPIENT_MANAGEMENT,
    # Used by the gateway beyond ConfigMgr's list (optional: not part of REQUIRED_CMDLETS).
    "Remove-ActiveSyncDeviceAccessRule": RECIPIENT_MANAGEMENT,
    "Clear-MobileDevice": RECIPIENT_MANAGEMENT,
}

ON_PREMISES_ONLY = ("Get-ExchangeServer", "Set-ADServerSettings")
REQUIRED_CMDLETS: tuple[str, ...] = (
    "Clear-ActiveSyncDevice", "Get-ActiveSyncDevice", "Get-ActiveSyncDeviceAccessRule",
    "Get-ActiveSyncDeviceStatistics", "Get-ActiveSyncMailboxPolicy", "Get-ActiveSyncOrganizationSettings",
    "Get-ExchangeServer", "Get-Recipient", "Set-ADServerSettings", "Set-ActiveSyncDeviceAccessRule",
    "Set-ActiveSyncMailboxPolicy", "Set-CASMailbox", "New-ActiveSyncDeviceAccessRule",
    "New-ActiveSyncMailboxPolicy", "Remove-ActiveSyncDevice",
    "Get-CASMailbox", "Get-Mailbox", "Set-ActiveSyncOrganizationSettings",
)


def required_cmdlets(*, online: bool = False) -> tuple[str, ...]:
    """The cmdlets the console needs: Exchange Online has no Get-ExchangeServer / Set-ADServerSettings."""
    if online:
        return tuple(c for c in REQUIRED_CMDLETS if c not in ON_PREMISES_ONLY)
    return REQUIRED_CMDLETS


def evaluate(available: Iterable[str], *, online: bool = False) -> PreflightResult:
    """Compare the session's command names with the required ones (case-insensitive); log each missing one."""
    present = {name.lower() for name in available}
    missing = [c for c in required_cmdlets(online=online) if c.lower() not in present]
    for cmdlet in missing:
        easdisc.warning("Invoking cmdlet %s failed", cmdlet,
                        extra={"cmdlet": cmdlet, "role_group": ROLE_GROUP_OF[cmdlet]})
    return PreflightResult(missing=missing, role_groups={c: ROLE_GROUP_OF[c] for c in missing})
