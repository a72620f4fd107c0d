"""The JSON state file: the generation parameters plus every row, so a saved organization reloads exactly.

Rows are stored as arrays in slot order with the field names listed once, which keeps a 100,000-device
file compact and fast to write.
"""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from .model import AccessRule, Device, MailboxPolicy, User, slot_names
from .store import Store
from .types import ExchangeServer

FORMAT = 1


def _rows(cls: type, items: list[Any]) -> dict[str, Any]:
    names = slot_names(cls)
    return {"fields": names, "rows": [[_plain(getattr(item, n)) for n in names] for item in items]}


def _plain(value: Any) -> Any:
    if isinstance(value, (tuple, set)):
        return list(value)
    return value


def _objects(cls: type, table: dict[str, Any], tuples: tuple[str, ...] = ()) -> list[Any]:
    names = table["fields"]
    out = []
    for row in table["rows"]:
        values = dict(zip(names, row))
        for name in tuples:
            values[name] = tuple(values.get(name) or ())
        out.append(cls(**values))
    return out


def dump_store(store: Store) -> dict[str, Any]:
    return {
        "name": store.name, "domain": store.domain, "anchor": store.anchor,
        "servers": [{"name": s.name, "fqdn": s.fqdn, "roles": list(s.roles), "site": s.site, "site_name": s.site_name,
                     "version": s.version, "guid": str(s.guid)} for s in store.servers],
        "users": _rows(User, list(store.users.values())),
        "devices": _rows(Device, list(store.devices.values())),
        "removed": _rows(Device, list(store.removed.values())),
        "wiped_removed": sorted(store.wiped_removed),
        "rules": _rows(AccessRule, list(store.rules.values())),
        "policies": _rows(MailboxPolicy, list(store.policies.values())),
        "org_settings": store.org_settings,
    }


def load_store(data: dict[str, Any]) -> Store:
    servers = [ExchangeServer(name=s["name"], fqdn=s["fqdn"], roles=tuple(s["roles"]), site=s["site"],
                              site_name=s["site_name"], version=s["version"], guid=uuid.UUID(s["guid"]))
               for s in data["servers"]]
    store = Store(name=data["name"], domain=data["domain"], servers=servers, anchor=data["anchor"])
    for user in _objects(User, data["users"], ("allowed_ids", "blocked_ids")):
        user.device_keys = []  # rebuilt by add_device
        store.add_user(user)
    for device in _objects(Device, data["devices"]):
        store.add_device(device)
    for device in _objects(Device, data["removed"]):
        store.removed[device.device_id] = device
    store.wiped_removed = set(data["wiped_removed"])
    for rule in _objects(AccessRule, data["rules"]):
        store.rules[rule.identity.lower()] = rule
    for policy in _objects(MailboxPolicy, data["policies"]):
        store.policies[policy.name.lower()] = policy
    store.org_settings = dict(data["org_settings"])
    return store


def write(path: str | os.PathLike[str], payload: dict[str, Any]) -> None:
    """Write atomically: a crash mid-write leaves the previous file intact."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"format": FORMAT, **payload}, fh, separators=(",", ":"), ensure_ascii=False)
    os.replace(tmp, target)


def read(path: str | os.PathLike[str]) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if data.get("format") != FORMAT:
        raise ValueError(f"unsupported simulator state format {data.get('format')!r}")
    return data
