"""Which Exchange role group grants each cmdlet, for the simulator's own RBAC data.

The console does not import this (it must not import the simulator); it names the same role groups
in its own help text. Built-ins (Get-Command, Select-Object) exist in every session.
"""
from __future__ import annotations

import collections
import math
import threading
import time

from .params import exchange_error
from .types import CmdletError, ErrorCategory

RECIPIENT = "Recipient Management"
VIEW_ONLY = "View-Only Organization Management"
SERVER = "Server Management"

ROLE_GROUPS: dict[str, str] = {
    "Get-ActiveSyncDevice": VIEW_ONLY, "Get-MobileDevice": VIEW_ONLY,
    "Get-ActiveSyncDeviceStatistics": VIEW_ONLY, "Get-MobileDeviceStatistics": VIEW_ONLY,
    "Get-ActiveSyncDeviceClass": VIEW_ONLY,
    "Clear-ActiveSyncDevice": RECIPIENT, "Clear-MobileDevice": RECIPIENT,
    "Remove-ActiveSyncDevice": RECIPIENT, "Remove-MobileDevice": RECIPIENT,
    "Get-ActiveSyncDeviceAccessRule": VIEW_ONLY, "New-ActiveSyncDeviceAccessRule": RECIPIENT,
    "Set-ActiveSyncDeviceAccessRule": RECIPIENT, "Remove-ActiveSyncDeviceAccessRule": RECIPIENT,
    "Get-ActiveSyncOrganizationSettings": VIEW_ONLY, "Set-ActiveSyncOrganizationSettings": RECIPIENT,
    "Get-ActiveSyncMailboxPolicy": VIEW_ONLY, "Get-MobileDeviceMailboxPolicy": VIEW_ONLY,
    "New-ActiveSyncMailboxPolicy": RECIPIENT, "New-MobileDeviceMailboxPolicy": RECIPIENT,
    "Set-ActiveSyncMailboxPolicy": RECIPIENT, "Set-MobileDeviceMailboxPolicy": RECIPIENT,
    "Remove-ActiveSyncMailboxPolicy": RECIPIENT, "Remove-MobileDeviceMailboxPolicy": RECIPIENT,
    "Get-CASMailbox": VIEW_ONLY, "Set-CASMailbox": RECIPIENT, "Get-Mailbox": VIEW_ONLY, "Get-User": VIEW_ONLY,
    "Get-Recipient": VIEW_ONLY, "Get-ExchangeServer": SERVER, "Set-ADServerSettings": SERVER,
}


class Budget:
    """PowerShellMaxCmdlets / PowerShellMaxCmdletsTimePeriod per account, over a sliding window."""

    def __init__(self) -> None:
        self._limits: dict[str | None, tuple[int, int]] = {}  # account (None = every account) -> (max, period)
        self._calls: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    def set(self, account: str | None, max_cmdlets: int | None, period: int) -> None:
        key = account.lower() if account else None
        with self._lock:
            if max_cmdlets is None:
                self._limits.pop(key, None)
            else:
                self._limits[key] = (max_cmdlets, period)
            self._calls.clear()

    def limits(self) -> dict[str | None, tuple[int, int]]:
        with self._lock:
            return dict(self._limits)

    def charge(self, account: str, count: int, cmdlet: str, server: str, clock=time.monotonic) -> None:
        """Record `count` cmdlets for `account`; raise the throttling error when over budget."""
        with self._lock:
            limit = self._limits.get(account.lower(), self._limits.get(None))
            if limit is None or count == 0:
                return
            max_cmdlets, period = limit
            now = clock()
            calls = self._calls.setdefault(account.lower(), collections.deque())
            while calls and calls[0] <= now - period:
                calls.popleft()
            if len(calls) + count > max_cmdlets:
                # Exchange's OverBudgetException names the policy part and a back-off in milliseconds.
                wait_ms = max(1, math.ceil(((calls[0] + period - now) if calls else period) * 1000))
                raise CmdletError(exchange_error(
                    cmdlet, server,
                    f"This operation exceeds the throttling budget for policy part 'PowerShellMaxCmdlets', policy "
                    f"value '{max_cmdlets}', Budget type: 'PowerShell'. Suggested backoff time {wait_ms} ms.",
                    "Microsoft.Exchange.Data.Directory.OverBudgetException",
                    ErrorCategory.QuotaExceeded, account, "7F6E5D4C"))
            calls.extend([now] * count)
