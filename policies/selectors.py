"""Reads: what an access change would do to the devices in the inventory (the what-if preview).

Exchange decides a device's access in this order (reference §1.4): the mailbox's own allow and block
lists (and a mailbox with ActiveSync disabled, or a device the mailbox policy refuses), then the rules
(Block wins over Quarantine, which wins over Allow), then the default access level. The inventory keeps
each device's last reason: a device decided by its mailbox (Individual) or by its policy keeps its state;
every other device is evaluated again against the proposed rules and default level.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from devices.models import Device
from policies.models import ConnectorPolicy

STATE_OF_LEVEL = {"Allow": "Allowed", "Block": "Blocked", "Quarantine": "Quarantined"}
KEPT_REASONS = {"individual", "policy"}
_FIELDS = (("DeviceType", "device_type"), ("DeviceModel", "device_model"), ("DeviceOS", "device_os"),
           ("UserAgent", "device_user_agent"))


@dataclass
class Transition:
    """Devices going from one access state to another, and what they are (the most common models first)."""

    before: str
    after: str
    device_ids: list[int] = field(default_factory=list)
    models: Counter = field(default_factory=Counter)

    @property
    def count(self) -> int:
        return len(self.device_ids)

    def top_models(self, n: int = 4) -> list[tuple[str, int]]:
        return self.models.most_common(n)

    @property
    def restrictive(self) -> bool:
        return self.after in ("Blocked", "Quarantined")


def evaluate(values: dict[str, str], rules: list[dict[str, str]], default_level: str) -> tuple[str, str | None]:
    """The access state (and rule identity) Exchange gives a device with these values under these rules."""
    index = {level: {(r["characteristic"], r["query_string"].lower()): f"{r['query_string']} ({r['characteristic']})"
                     for r in rules if r["access_level"] == level} for level in ("Block", "Quarantine", "Allow")}
    for level in ("Block", "Quarantine", "Allow"):
        for characteristic, name in _FIELDS:
            found = index[level].get((characteristic, (values.get(name) or "").lower()))
            if found:
                return STATE_OF_LEVEL[level], found
    return STATE_OF_LEVEL.get(default_level, "Allowed"), None


def what_if(connector, *, rules: list[dict[str, str]], default_level: str) -> list[Transition]:
    """The connector's devices whose access state the proposed rules and default level would change,
    grouped by (state now, state after), largest group first. The rules someone else made in Exchange
    stay there, so they count too (unless the proposal has a rule for the same value)."""
    foreign = ConnectorPolicy.objects.filter(connector=connector).values_list("foreign_rules", flat=True).first() or []
    proposed = {(r["characteristic"], r["query_string"].lower()) for r in rules}
    rules = [*rules, *(r for r in foreign if (r["characteristic"], r["query_string"].lower()) not in proposed)]
    transitions: dict[tuple[str, str], Transition] = {}
    devices = (Device.objects.filter(connector=connector, missing_since__isnull=True)
               .values("pk", "access_state", "access_state_reason", "device_model", *(n for _c, n in _FIELDS)))
    for row in devices.iterator(chunk_size=2000):
        if (row["access_state_reason"] or "").lower() in KEPT_REASONS:
            continue
        after, _rule = evaluate(row, rules, default_level)
        before = row["access_state"] or "Unknown"
        if after == before:
            continue
        group = transitions.setdefault((before, after), Transition(before, after))
        group.device_ids.append(row["pk"])
        group.models[row["device_model"] or row["device_type"] or "?"] += 1
    return sorted(transitions.values(), key=lambda t: (-t.count, t.before, t.after))
