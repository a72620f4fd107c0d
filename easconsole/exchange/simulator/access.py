"""How Exchange decides a partnership's access state (reference §1.4, TechNet ff959225 order).

Decisions the reference leaves open, chosen here:
- A mailbox with ActiveSyncEnabled = $false blocks every device of that mailbox with reason
  Individual (the decision comes from the mailbox's own setting, not from a rule or the org default).
- A device that cannot be provisioned is blocked with reason Policy when the user's mailbox policy
  has AllowNonProvisionableDevices = $false.
"""
from __future__ import annotations

from typing import Iterable

from .model import AccessRule, Device, User

ALLOWED, BLOCKED, QUARANTINED = 1, 2, 3
GLOBAL, INDIVIDUAL, DEVICE_RULE, POLICY = 1, 2, 3, 5
_LEVEL_STATE = {"Allow": ALLOWED, "Block": BLOCKED, "Quarantine": QUARANTINED}

RuleIndex = dict[str, dict[tuple[str, str], str]]


def build_rule_index(rules: Iterable[AccessRule]) -> RuleIndex:
    """Group rules by access level, keyed by (characteristic, lower-case query string)."""
    index: RuleIndex = {"Block": {}, "Quarantine": {}, "Allow": {}}
    for rule in rules:
        index[rule.level][(rule.characteristic, rule.query.lower())] = rule.identity
    return index


def _match(level_rules: dict[tuple[str, str], str], device: Device) -> str | None:
    if not level_rules:
        return None
    for key in (("DeviceType", device.device_type), ("DeviceModel", device.model),
                ("DeviceOS", device.os), ("UserAgent", device.user_agent)):
        found = level_rules.get((key[0], key[1].lower()))
        if found:
            return found
    return None


def evaluate(user: User, device: Device, rules: RuleIndex, default_level: str,
             allow_non_provisionable: bool) -> tuple[int, int, str | None]:
    """Return (DeviceAccessState, DeviceAccessStateReason, DeviceAccessControlRule) as stored on a Device."""
    if not user.activesync_enabled:
        return BLOCKED, INDIVIDUAL, None
    if not device.provisionable and not allow_non_provisionable:
        return BLOCKED, POLICY, None
    device_id = device.device_id.upper()
    if user.blocked_ids and device_id in (d.upper() for d in user.blocked_ids):
        return BLOCKED, INDIVIDUAL, None
    if user.allowed_ids and device_id in (d.upper() for d in user.allowed_ids):
        return ALLOWED, INDIVIDUAL, None
    for level in ("Block", "Quarantine", "Allow"):
        rule = _match(rules[level], device)
        if rule:
            return _LEVEL_STATE[level], DEVICE_RULE, rule
    return _LEVEL_STATE.get(default_level, ALLOWED), GLOBAL, None
