"""The operations both transports send the same way, built on their ``_read``/``_write``.

On-premises Remote PowerShell (`gateway.PsrpGateway`) and Exchange Online's REST endpoint
(`rest.RestGateway`) differ in how a cmdlet travels, not in what it is: each supplies ``_read(cmdlet,
params) -> rows``, ``_write(cmdlet, params) -> (CommandResult, rows)``, ``open()``, ``close()`` and
``current_server``, and gets from here every operation whose cmdlet and parameters are the same on
both. Arguments are checked before anything is sent: an empty ``-Identity`` would match every object.
"""
from __future__ import annotations

import re
from typing import Any, Sequence

from . import parsing
from .errors import ExchangeObjectNotFound
from .values import AccessRule, CommandResult, DeviceStatistics, MailboxPolicy, OrgSettings, RecipientInfo

ACCESS_LEVELS = ("Allow", "Block", "Quarantine")
CHARACTERISTICS = ("DeviceType", "DeviceModel", "DeviceOS", "UserAgent", "XMSWLHeader")
_PARAMETER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,80}$")


def _required(name: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        # A $null or empty -Identity makes Get- cmdlets return every object: never send one.
        raise ValueError(f"{name} is required")
    return value.strip()


def _choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    for choice in choices:
        if isinstance(value, str) and choice.lower() == value.strip().lower():
            return choice
    raise ValueError(f"{name} must be one of {', '.join(choices)}")


def _policy_params(params: dict[str, Any]) -> list[tuple[str, Any]]:
    out = []
    for key, value in params.items():
        if not _PARAMETER_NAME.match(str(key)) or str(key).lower() in ("identity", "name", "confirm", "whatif"):
            raise ValueError(f"{key!r} is not a mailbox policy parameter")
        out.append((str(key), list(value) if isinstance(value, (tuple, set)) else value))
    return out


def _with_created(result: CommandResult, created: Any) -> CommandResult:
    return CommandResult(result.cmdlet, result.parameters, result.warnings, result.server, created)



class CmdletOperations:
    """The shared operations; a transport subclass supplies the primitives below."""

    current_server: str | None

    def _read(self, cmdlet: str, params: Sequence[tuple[str, Any]] = ()) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _write(self, cmdlet: str, params: Sequence[tuple[str, Any]]) -> tuple[CommandResult, list[dict[str, Any]]]:
        raise NotImplementedError

    def open(self) -> "CmdletOperations":
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> "CmdletOperations":
        return self.open()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def device_statistics(self, identity: str) -> DeviceStatistics:
        rows = self._read("Get-ActiveSyncDeviceStatistics", [("Identity", _required("identity", identity))])
        return parsing.statistics(rows[0])

    def recipient(self, identity: str) -> RecipientInfo:
        """One recipient by any identity form (alias, SMTP address, UPN, DN, GUID); ExchangeObjectNotFound if none."""
        rows = self._read("Get-Recipient", [("Identity", _required("identity", identity))])
        if not rows:
            raise ExchangeObjectNotFound("Get-Recipient", self.current_server or "", f"no recipient matches {identity!r}")
        return parsing.recipient(rows[0])

    def _lists(self, mailbox: str, allowed: dict[str, list[str]], blocked: dict[str, list[str]]) -> CommandResult:
        # @{Add=...}/@{Remove=...} hashtables: other IDs in the lists are never clobbered.
        return self._write("Set-CASMailbox", [("Identity", _required("mailbox", mailbox)),
                                              ("ActiveSyncAllowedDeviceIDs", allowed),
                                              ("ActiveSyncBlockedDeviceIDs", blocked)])[0]

    def allow_device(self, mailbox: str, device_id: str) -> CommandResult:
        device_id = _required("device_id", device_id)
        return self._lists(mailbox, {"Add": [device_id]}, {"Remove": [device_id]})

    def block_device(self, mailbox: str, device_id: str) -> CommandResult:
        device_id = _required("device_id", device_id)
        return self._lists(mailbox, {"Remove": [device_id]}, {"Add": [device_id]})

    def remove_from_lists(self, mailbox: str, device_id: str) -> CommandResult:
        device_id = _required("device_id", device_id)
        return self._lists(mailbox, {"Remove": [device_id]}, {"Remove": [device_id]})

    def set_active_sync_enabled(self, mailbox: str, enabled: bool) -> CommandResult:
        """Turn Exchange ActiveSync on or off for a mailbox: off, no device (old or new) syncs with it."""
        if not isinstance(enabled, bool):
            raise ValueError("enabled must be True or False")
        return self._write("Set-CASMailbox", [("Identity", _required("mailbox", mailbox)), ("ActiveSyncEnabled", enabled)])[0]

    def access_rules(self) -> list[AccessRule]:
        return [parsing.access_rule(p) for p in self._read("Get-ActiveSyncDeviceAccessRule")]

    def new_access_rule(self, characteristic: str, query_string: str, access_level: str) -> CommandResult:
        result, rows = self._write("New-ActiveSyncDeviceAccessRule", [
            ("Characteristic", _choice("characteristic", characteristic, CHARACTERISTICS)),
            ("QueryString", _required("query_string", query_string)),
            ("AccessLevel", _choice("access_level", access_level, ACCESS_LEVELS))])
        return _with_created(result, parsing.access_rule(rows[0]) if rows else None)

    def set_access_rule(self, identity: str, access_level: str) -> CommandResult:
        return self._write("Set-ActiveSyncDeviceAccessRule", [
            ("Identity", _required("identity", identity)),
            ("AccessLevel", _choice("access_level", access_level, ACCESS_LEVELS))])[0]

    def remove_access_rule(self, identity: str) -> CommandResult:
        return self._write("Remove-ActiveSyncDeviceAccessRule", [("Identity", _required("identity", identity)),
                                                                 ("Confirm", False)])[0]

    def organization_settings(self) -> OrgSettings:
        return parsing.org_settings(self._read("Get-ActiveSyncOrganizationSettings")[0])

    def set_organization_settings(self, *, default_access_level: str | None = None,
                                  admin_mail_recipients: Sequence[str] | None = None,
                                  user_mail_insert: str | None = None) -> CommandResult:
        """Change only what is given; admin_mail_recipients replaces the list (an empty list clears it)."""
        params: list[tuple[str, Any]] = []
        if default_access_level is not None:
            params.append(("DefaultAccessLevel", _choice("default_access_level", default_access_level, ACCESS_LEVELS)))
        if admin_mail_recipients is not None:
            params.append(("AdminMailRecipients", [str(a) for a in admin_mail_recipients] or None))
        if user_mail_insert is not None:
            params.append(("UserMailInsert", user_mail_insert))
        if not params:
            raise ValueError("nothing to change")
        return self._write("Set-ActiveSyncOrganizationSettings", params)[0]

    def mailbox_policies(self) -> list[MailboxPolicy]:
        return [parsing.mailbox_policy(p) for p in self._read("Get-ActiveSyncMailboxPolicy")]

    def new_mailbox_policy(self, name: str, params: dict[str, Any]) -> CommandResult:
        result, rows = self._write("New-ActiveSyncMailboxPolicy",
                                   [("Name", _required("name", name))] + _policy_params(params))
        return _with_created(result, parsing.mailbox_policy(rows[0]) if rows else None)

    def set_mailbox_policy(self, identity: str, params: dict[str, Any]) -> CommandResult:
        if not params:
            raise ValueError("nothing to change")
        return self._write("Set-ActiveSyncMailboxPolicy",
                           [("Identity", _required("identity", identity))] + _policy_params(params))[0]

    def set_cas_mailbox_policy(self, mailbox: str, policy: str | None) -> CommandResult:
        """Assign an EAS mailbox policy to a mailbox (None: back to the default policy, -Name:$null)."""
        value = None if policy is None else _required("policy", policy)
        return self._write("Set-CASMailbox", [("Identity", _required("mailbox", mailbox)),
                                              ("ActiveSyncMailboxPolicy", value)])[0]
