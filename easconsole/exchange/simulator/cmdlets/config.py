"""Organization configuration: device access rules, ActiveSync organization settings, mailbox policies.

Every change that can alter an access decision re-evaluates the existing partnerships at once (Exchange
applies a new default or rule to existing devices too, reference §1.2).
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any, Iterable, Iterator

from ..catalog import POLICY_DEFAULTS, POLICY_KINDS, POLICY_RANGES, POLICY_SPAN_RANGES
from ..generator import random_guid
from ..model import ACCESS_LEVEL_NAMES, CHARACTERISTIC_NAMES, AccessRule, MailboxPolicy
from ..params import Param, convert, exchange_error, invalid
from ..records import org_settings_record, policy_record, rule_record
from ..types import ErrorCategory, Output, Record
from . import Context, cmdlet, limited

_RULE_ID = re.compile(r"^\s*(.*?)\s*\(\s*(\w+)\s*\)\s*$")


def find_rule(ctx: Context, identity: Any) -> AccessRule | None:
    text = str(identity).strip()
    rules = ctx.store.rules
    if text.lower() in rules:
        return rules[text.lower()]
    m = _RULE_ID.match(text)  # "iPhone(DeviceType)" without the space
    if m and f"{m.group(1)} ({m.group(2)})".lower() in rules:
        return rules[f"{m.group(1)} ({m.group(2)})".lower()]
    for rule in rules.values():
        if rule.guid and text.lower() == str(uuid.UUID(int=rule.guid)):
            return rule
    return None


def _reevaluate(ctx: Context) -> None:
    ctx.store.rules_changed()
    ctx.store.evaluate_all(ctx.now())


@cmdlet("Get-ActiveSyncDeviceAccessRule", Param("Identity", "identity", 0))
def get_rules(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    with ctx.lock:
        if p.get("Identity") is not None:
            rule = find_rule(ctx, p["Identity"])
            rows = [rule_record(ctx.store, rule)] if rule else None
        else:
            rows = [rule_record(ctx.store, r) for r in ctx.store.rules.values()]
    if rows is None:
        yield ctx.not_found(p["Identity"])
        return
    yield from rows


@cmdlet("New-ActiveSyncDeviceAccessRule", Param("QueryString", "str", mandatory=True),
        Param("Characteristic", CHARACTERISTIC_NAMES, mandatory=True),
        Param("AccessLevel", ACCESS_LEVEL_NAMES, mandatory=True))
def new_rule(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    if p.get("WhatIf"):
        return
    with ctx.lock:
        now = ctx.now()
        rule = AccessRule(p["QueryString"], p["Characteristic"], p["AccessLevel"], random_guid(ctx.org.rng), now, now)
        if len(rule.identity) > 64:  # the rule's name is an AD common name: 64 characters at most
            raise ctx.fail(invalid(ctx.name, ctx.server, "The length of the property is too long. The maximum length "
                                   f"is 64 and the length of the value provided is {len(rule.identity)}.", "Name"))
        if rule.identity.lower() in ctx.store.rules:
            raise ctx.fail(exchange_error(
                ctx.name, ctx.server, f"An ActiveSyncDeviceAccessRule with the identity '{rule.identity}' already "
                "exists. Use Set-ActiveSyncDeviceAccessRule to change its access level.",
                "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException", ErrorCategory.InvalidArgument,
                rule.identity, "3B2A1908"))
        ctx.store.rules[rule.identity.lower()] = rule
        _reevaluate(ctx)
        record = rule_record(ctx.store, rule)
    yield record


@cmdlet("Set-ActiveSyncDeviceAccessRule", Param("Identity", "identity", 0, mandatory=True),
        Param("AccessLevel", ACCESS_LEVEL_NAMES))
def set_rule(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    with ctx.lock:
        rule = find_rule(ctx, p["Identity"])
        if rule is not None and not p.get("WhatIf") and p.get("AccessLevel"):
            rule.level = p["AccessLevel"]
            rule.when_changed = ctx.now()
            _reevaluate(ctx)
    if rule is None:
        yield ctx.not_found(p["Identity"])


@cmdlet("Remove-ActiveSyncDeviceAccessRule", Param("Identity", "identity", 0, mandatory=True), confirm=True)
def remove_rule(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    with ctx.lock:
        rule = find_rule(ctx, p["Identity"])
        if rule is not None and not p.get("WhatIf"):
            del ctx.store.rules[rule.identity.lower()]
            _reevaluate(ctx)
    if rule is None:
        yield ctx.not_found(p["Identity"])


@cmdlet("Get-ActiveSyncOrganizationSettings", Param("Identity", "identity", 0))
def get_org_settings(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    with ctx.lock:
        record = org_settings_record(ctx.store)
    yield record


@cmdlet("Set-ActiveSyncOrganizationSettings", Param("Identity", "identity", 0),
        Param("DefaultAccessLevel", ACCESS_LEVEL_NAMES), Param("UserMailInsert"), Param("AdminMailRecipients", "mv"),
        Param("OtaNotificationMailInsert"), Param("AllowAccessForUnSupportedPlatform", "bool"))
def set_org_settings(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    for key in ("UserMailInsert", "OtaNotificationMailInsert"):
        if p.get(key) is not None and len(p[key]) > 256:
            raise ctx.fail(invalid(ctx.name, ctx.server, f"The length of the property is too long. The maximum "
                                   f"length is 256 and the length of the value provided is {len(p[key])}.", key))
    if p.get("WhatIf"):
        return
    with ctx.lock:
        settings = ctx.store.org_settings
        for key in ("UserMailInsert", "OtaNotificationMailInsert", "AllowAccessForUnSupportedPlatform"):
            if key in p:
                settings[key] = p[key]
        if "AdminMailRecipients" in p:
            settings["AdminMailRecipients"] = apply_multivalued(settings["AdminMailRecipients"], p["AdminMailRecipients"])
        settings["WhenChanged"] = ctx.now()
        if p.get("DefaultAccessLevel") and p["DefaultAccessLevel"] != settings["DefaultAccessLevel"]:
            settings["DefaultAccessLevel"] = p["DefaultAccessLevel"]
            _reevaluate(ctx)
    return
    yield  # a generator with no output, as the Exchange cmdlet


def apply_multivalued(current: Iterable[str], change: Any) -> list[str]:
    """A MultiValuedProperty update: a full list, None (clear) or {"add": [...], "remove": [...]}."""
    if change is None:
        return []
    if isinstance(change, dict):
        out = list(current)
        lowered = {v.lower() for v in out}
        for value in change.get("add", []):
            if value.lower() not in lowered:
                out.append(value)
                lowered.add(value.lower())
        removing = {v.lower() for v in change.get("remove", [])}
        return [v for v in out if v.lower() not in removing]
    return list(dict.fromkeys(change))


# ---- mailbox policies --------------------------------------------------------------------------
_SPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$")
_SIZE = re.compile(r"^\s*([\d.]+)\s*(B|KB|MB|GB)?\s*$", re.IGNORECASE)
_UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}


def _span_text(value: dt.timedelta) -> str:
    days, rest = divmod(int(value.total_seconds()), 86400)
    hours, rest = divmod(rest, 3600)
    text = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{days}.{text}" if days else text


def _size_text(size: int) -> str:
    for unit in ("GB", "MB", "KB"):
        if size >= _UNITS[unit] and size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]} {unit} ({size:,} bytes)"
    return f"{size} B ({size:,} bytes)"


def policy_value(ctx: Context, name: str, value: Any) -> Any:
    """Convert and range-check one policy parameter (reference §2)."""
    kind = POLICY_KINDS[name]
    bad = invalid(ctx.name, ctx.server, f"Cannot bind parameter '{name}'. The value \"{value}\" isn't valid.", name)
    unlimited = isinstance(value, str) and value.strip().lower() == "unlimited"
    if kind == "unlimited-int":
        if unlimited:
            return "Unlimited"
        number = convert(ctx.name, Param(name, "int"), value)
        lo, hi = POLICY_RANGES[name]
        if not lo <= number <= hi:
            raise ctx.fail(invalid(ctx.name, ctx.server, f"The value of {name} must be between {lo} and {hi}, or Unlimited.", name))
        return str(number)
    if kind == "unlimited-span":
        if unlimited:
            return "Unlimited"
        if isinstance(value, dt.timedelta):
            span = value
        else:
            m = _SPAN.match(str(value).strip())
            if not m:
                raise ctx.fail(bad)
            span = dt.timedelta(days=int(m.group(1) or 0), hours=int(m.group(2)), minutes=int(m.group(3)),
                                seconds=int(m.group(4)))
        if name in POLICY_SPAN_RANGES:
            lo, hi = POLICY_SPAN_RANGES[name]
            if not lo <= span <= hi:
                raise ctx.fail(invalid(ctx.name, ctx.server, f"The value of {name} must be between "
                                       f"{_span_text(lo)} and {_span_text(hi)}, or Unlimited.", name))
        return _span_text(span)
    if kind == "unlimited-size":
        if unlimited:
            return "Unlimited"
        m = _SIZE.match(str(value))
        if not m:
            raise ctx.fail(bad)
        return _size_text(int(float(m.group(1)) * _UNITS[(m.group(2) or "B").upper()]))
    if kind == "int":
        if value is None and name == "MinDevicePasswordLength":
            return None
        number = convert(ctx.name, Param(name, "int"), value)
        lo, hi = POLICY_RANGES.get(name, (0, 2 ** 31 - 1))
        if not lo <= number <= hi:
            raise ctx.fail(invalid(ctx.name, ctx.server, f"The value of {name} must be between {lo} and {hi}.", name))
        return number
    if kind == "bool":
        return convert(ctx.name, Param(name, "bool"), value)
    if kind == "list":
        return convert(ctx.name, Param(name, "list"), value) or []
    return convert(ctx.name, Param(name, kind), value)


_POLICY_PARAMS = tuple(Param(n, "any") for n in POLICY_DEFAULTS) + (Param("IsDefault", "bool"),
                                                                      Param("IsDefaultPolicy", "bool"))


def _apply_policy(ctx: Context, policy: MailboxPolicy, p: dict[str, Any]) -> None:
    changes = {name: policy_value(ctx, name, p[name]) for name in POLICY_DEFAULTS if name in p}
    if changes.get("RequireStorageCardEncryption"):  # documented side effect
        changes["DeviceEncryptionEnabled"] = True
    policy.settings.update(changes)
    make_default = p.get("IsDefault", p.get("IsDefaultPolicy"))
    if make_default:  # only one default: the previous one is demoted
        for other in ctx.store.policies.values():
            other.is_default = False
        policy.is_default = True
    policy.when_changed = ctx.now()


@cmdlet("Get-ActiveSyncMailboxPolicy", Param("Identity", "identity", 0), aliases=("Get-MobileDeviceMailboxPolicy",))
def get_policies(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    with ctx.lock:
        if p.get("Identity") is not None:
            policy = ctx.store.find_policy(p["Identity"])
            rows = [policy_record(ctx.store, policy)] if policy else None
        else:
            rows = [policy_record(ctx.store, x) for x in ctx.store.policies.values()]
    if rows is None:
        yield ctx.not_found(p["Identity"])
        return
    yield from limited(ctx, {"ResultSize": None}, iter(rows))


@cmdlet("New-ActiveSyncMailboxPolicy", Param("Name", "str", 0, mandatory=True), *_POLICY_PARAMS,
        aliases=("New-MobileDeviceMailboxPolicy",))
def new_policy(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    if p.get("WhatIf"):
        return
    with ctx.lock:
        if p["Name"].lower() in ctx.store.policies:
            raise ctx.fail(exchange_error(ctx.name, ctx.server, f"The mobile mailbox policy '{p['Name']}' already exists.",
                                          "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException",
                                          ErrorCategory.InvalidArgument, p["Name"], "4C3B2A19"))
        now = ctx.now()
        policy = MailboxPolicy(p["Name"], random_guid(ctx.org.rng), False, dict(POLICY_DEFAULTS), now, now)
        _apply_policy(ctx, policy, p)
        ctx.store.policies[policy.name.lower()] = policy
        if policy.is_default:
            _reevaluate(ctx)
        record = policy_record(ctx.store, policy)
    yield record


@cmdlet("Set-ActiveSyncMailboxPolicy", Param("Identity", "identity", 0, mandatory=True), Param("Name"),
        *_POLICY_PARAMS, aliases=("Set-MobileDeviceMailboxPolicy",))
def set_policy(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    with ctx.lock:
        policy = ctx.store.find_policy(p["Identity"])
        if policy is not None and not p.get("WhatIf"):
            _apply_policy(ctx, policy, p)
            if p.get("Name") and p["Name"] != policy.name:
                old = policy.name
                del ctx.store.policies[old.lower()]
                policy.name = p["Name"]
                ctx.store.policies[policy.name.lower()] = policy
                for user in ctx.store.users.values():
                    if user.policy is not None and user.policy.lower() == old.lower():
                        user.policy = policy.name
            _reevaluate(ctx)
    if policy is None:
        yield ctx.not_found(p["Identity"])


@cmdlet("Remove-ActiveSyncMailboxPolicy", Param("Identity", "identity", 0, mandatory=True), confirm=True,
        aliases=("Remove-MobileDeviceMailboxPolicy",))
def remove_policy(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    with ctx.lock:
        policy = ctx.store.find_policy(p["Identity"])
        if policy is not None and policy.is_default:
            raise ctx.fail(invalid(ctx.name, ctx.server, f"The default mobile mailbox policy '{policy.name}' can't "
                                   "be removed. Make another policy the default first.", policy.name))
        if policy is not None and not p.get("WhatIf"):
            del ctx.store.policies[policy.name.lower()]
            for user in ctx.store.users.values():
                if user.policy is not None and user.policy.lower() == policy.name.lower():
                    user.policy = None
            _reevaluate(ctx)
    if policy is None:
        yield ctx.not_found(p["Identity"])
