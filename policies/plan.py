"""Pure functions: what Exchange has, what the console asks, and the cmdlets that bring one to the other.

Nothing here talks to Exchange or the database. ``exchange_state`` is built from what the gateway
read (the default mailbox policy, the organization settings, the rules); ``plan`` turns the
difference into the commands a push sends; ``drift`` names each differing setting with both values.
Exchange prints values its own way ("10 KB (10,240 bytes)", "1.00:00:00", "8"): ``canonical`` puts
both sides in one form before comparing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from policies import catalog

_SPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$")
_SIZE = re.compile(r"^\s*([\d.,]+)\s*(B|KB|MB|GB)\b", re.IGNORECASE)
_UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}

POLICY, ORGANIZATION, RULES = "policy", "organization", "rules"
ORG_KEYS = ("DefaultAccessLevel", "AdminMailRecipients", "UserMailInsert")


@dataclass(frozen=True)
class ExchangeState:
    """What Exchange has now, as plain values."""

    policy_name: str
    policy: dict[str, Any]
    organization: dict[str, Any]
    rules: dict[str, dict[str, str]]  # identity lower -> {"identity", "characteristic", "query_string", "access_level"}


@dataclass(frozen=True)
class Command:
    """One cmdlet a push sends; ``area`` says which part of the console's state it applies."""

    area: str
    cmdlet: str
    call: str  # the gateway method
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


@dataclass(frozen=True)
class Desired:
    """What the console asks of Exchange."""

    policy: dict[str, Any]
    organization: dict[str, Any]
    rules: dict[str, dict[str, str]]  # identity lower -> rule
    owned: frozenset[str]  # identities (lower) of the rules the console created or adopted


def canonical(value: Any) -> Any:
    """One comparable form of a policy or settings value, whichever side printed it."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(sorted(str(v).strip().lower() for v in value))
    text = str(value).strip()
    if text.lower() == "unlimited":
        return "unlimited"
    if text.isdigit():
        return int(text)
    m = _SPAN.match(text)
    if m:
        return ("span", int(m.group(1) or 0) * 86400 + int(m.group(2)) * 3600 + int(m.group(3)) * 60 + int(m.group(4)))
    m = _SIZE.match(text)
    if m:
        return ("bytes", int(float(m.group(1).replace(",", "")) * _UNITS[m.group(2).upper()]))
    return text


def same(a: Any, b: Any) -> bool:
    if a in (None, "") and b in (None, "", ()):
        return True
    if b in (None, "") and a in (None, "", ()):
        return True
    return canonical(a) == canonical(b)


def shown(value: Any) -> str:
    """A value as a person reads it in a message."""
    if value is None or value == "" or value == () or value == []:
        return "(none)"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def rule_identity(characteristic: str, query_string: str) -> str:
    return f"{query_string} ({characteristic})"


def policy_differences(desired: Desired, state: ExchangeState) -> dict[str, list[str]]:
    return {key: [shown(state.policy.get(key)), shown(value)] for key, value in desired.policy.items()
            if not same(value, state.policy.get(key))}


def organization_differences(desired: Desired, state: ExchangeState) -> dict[str, list[str]]:
    return {key: [shown(state.organization.get(key)), shown(value)] for key, value in desired.organization.items()
            if not same(value, state.organization.get(key))}


def foreign_rules(desired: Desired, state: ExchangeState) -> list[dict[str, str]]:
    """Rules in Exchange that the console neither asks for nor owns: shown, never removed."""
    return [rule for key, rule in state.rules.items() if key not in desired.rules and key not in desired.owned]


def plan(desired: Desired, state: ExchangeState) -> list[Command]:
    """The commands that make Exchange what the console asks; none when it already is."""
    commands: list[Command] = []
    if policy_differences(desired, state):
        # The whole of every managed group, not only what differs: the group is the connector's.
        commands.append(Command(POLICY, "Set-ActiveSyncMailboxPolicy", "set_mailbox_policy",
                                (state.policy_name, dict(desired.policy)),
                                summary=f"mailbox policy {state.policy_name}"))
    org = organization_differences(desired, state)
    if org:
        o = desired.organization
        commands.append(Command(ORGANIZATION, "Set-ActiveSyncOrganizationSettings", "set_organization_settings", (), {
            "default_access_level": o["DefaultAccessLevel"], "admin_mail_recipients": list(o["AdminMailRecipients"]),
            "user_mail_insert": o["UserMailInsert"]}, summary="organization settings: " + ", ".join(org)))
    for key, rule in state.rules.items():
        if key not in desired.rules and key in desired.owned:
            commands.append(Command(RULES, "Remove-ActiveSyncDeviceAccessRule", "remove_access_rule", (rule["identity"],),
                                    summary=f"remove rule {rule['identity']}"))
    for key, rule in desired.rules.items():
        current = state.rules.get(key)
        if current is None:
            commands.append(Command(RULES, "New-ActiveSyncDeviceAccessRule", "new_access_rule",
                                    (rule["characteristic"], rule["query_string"], rule["access_level"]),
                                    summary=f"new rule {rule['identity']}: {rule['access_level']}"))
        elif current["access_level"].lower() != rule["access_level"].lower():
            commands.append(Command(RULES, "Set-ActiveSyncDeviceAccessRule", "set_access_rule",
                                    (current["identity"], rule["access_level"]),
                                    summary=f"rule {current['identity']}: {current['access_level']} → {rule['access_level']}"))
    return commands


def drift(desired: Desired, state: ExchangeState) -> list[dict[str, Any]]:
    """Every setting where Exchange differs from the console: {"setting", "console", "exchange"} as people
    read them, with "area", "key" and Exchange's own value ("raw") so the console can take it."""
    found: list[dict[str, Any]] = []
    for area, differences, values in ((POLICY, policy_differences(desired, state), state.policy),
                                      (ORGANIZATION, organization_differences(desired, state), state.organization)):
        for key, (before, after) in differences.items():
            found.append({"setting": key, "exchange": before, "console": after, "area": area, "key": key,
                          "raw": _jsonable(values.get(key))})
    for key, rule in desired.rules.items():
        current = state.rules.get(key)
        if current is None or current["access_level"].lower() != rule["access_level"].lower():
            found.append({"setting": f"rule {rule['identity']}", "console": rule["access_level"],
                          "exchange": current["access_level"] if current else "(none)", "area": RULES,
                          "key": rule["identity"], "raw": dict(current) if current else None})
    for key in sorted(desired.owned - set(desired.rules)):
        if key in state.rules:
            rule = state.rules[key]
            found.append({"setting": f"rule {rule['identity']}", "console": "(none)", "exchange": rule["access_level"],
                          "area": RULES, "key": rule["identity"], "raw": dict(rule)})
    return found


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return str(value)


def console_value(key: str, raw: Any) -> Any:
    """Exchange's value of the policy parameter ``key`` in the console's unit (None: Exchange's default,
    or a value the console cannot hold). Used by "Take Exchange's values into the console"."""
    setting = catalog.BY_KEY.get(key)
    if setting is None:
        return None
    value = canonical(raw)
    if value is None or value == "unlimited":
        return None
    if setting.kind in (catalog.MINUTES, catalog.HOURS, catalog.DAYS):
        if not (isinstance(value, tuple) and value[0] == "span"):
            return None
        minutes = value[1] // 60
        value = {catalog.MINUTES: minutes, catalog.HOURS: minutes // 60, catalog.DAYS: minutes // 1440}[setting.kind]
    elif setting.kind == catalog.KB:
        value = value[1] // 1024 if isinstance(value, tuple) else value
    elif setting.kind == catalog.LIST:
        value = [str(v) for v in raw or []]
    elif setting.kind in (catalog.BOOL, catalog.ENUM):
        value = raw
    try:
        return setting.validate(value)
    except Exception:  # noqa: BLE001 - a value outside the console's range stays unset
        return None
