"""The JSON state file: the generation parameters plus every row, so a saved organization reloads exactly.

The file is one JSON document laid out one row per line:

    {"format":2,"header":{...},
    "users":[
    [...],
    [...]
    ],
    "devices":[
    ...
    ],
    "end":true}

so that it can be written a chunk of rows at a time (the organization lock is taken per chunk, never
for the whole file) and read back line by line without holding the whole document in memory: a
100,000-device organization saves in about a second with no memory spike. Any other layout of the
same JSON (say, pretty-printed by hand) still loads, through json.load.
"""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .model import AccessRule, Device, MailboxPolicy, User, slot_names
from .store import Store
from .types import ExchangeServer

FORMAT = 2
SECTIONS = ("users", "devices", "removed")  # in load order: devices need their users
ROW_CLASSES = {"users": User, "devices": Device, "removed": Device}
_TUPLE_FIELDS = {"users": ("allowed_ids", "blocked_ids")}


def row_of(item: Any, names: list[str]) -> list[Any]:
    return [list(v) if isinstance(v, (tuple, set)) else v for v in (getattr(item, n) for n in names)]


def store_header(store: Store) -> dict[str, Any]:
    """Everything but the user and device rows (small: taken under the lock in one go)."""
    return {
        "name": store.name, "domain": store.domain, "anchor": store.anchor,
        "servers": [{"name": s.name, "fqdn": s.fqdn, "roles": list(s.roles), "site": s.site, "site_name": s.site_name,
                     "version": s.version, "guid": str(s.guid)} for s in store.servers],
        "wiped_removed": sorted(store.wiped_removed),
        "rules": {"fields": slot_names(AccessRule), "rows": [row_of(r, slot_names(AccessRule)) for r in store.rules.values()]},
        "policies": {"fields": slot_names(MailboxPolicy),
                     "rows": [row_of(p, slot_names(MailboxPolicy)) for p in store.policies.values()]},
        "org_settings": dict(store.org_settings),
        "fields": {section: slot_names(cls) for section, cls in ROW_CLASSES.items()},
    }


def write(path: str | os.PathLike[str], header: dict[str, Any],
          chunks: Callable[[str], Iterable[list[list[Any]]]]) -> None:
    """Write the file atomically; `chunks(section)` yields lists of rows (each taken under the lock)."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    # surrogatepass: a device may hold a lone surrogate (a .NET string can), and the file must keep it.
    with open(tmp, "w", encoding="utf-8", errors="surrogatepass") as fh:
        fh.write('{"format":%d,"header":%s,\n' % (FORMAT, dumps(header)))
        for section in SECTIONS:
            fh.write(f'"{section}":[')
            separator = "\n"
            for rows in chunks(section):
                if rows:
                    fh.write(separator + ",\n".join(dumps(row) for row in rows))
                    separator = ",\n"
            fh.write("\n],\n")
        fh.write('"end":true}\n')
    os.replace(tmp, target)


def read(path: str | os.PathLike[str]) -> tuple[dict[str, Any], Iterator[tuple[str, list[Any]]]]:
    """The header and an iterator of (section, row), read line by line when the layout allows."""
    fh = open(path, encoding="utf-8", errors="surrogatepass")
    first = fh.readline()
    try:
        head = json.loads(first.rstrip().rstrip(",") + "}")
    except ValueError:
        head = {}
    if "header" not in head:
        fh.seek(0)
        head = json.load(fh)  # another layout: read it whole
        fh.close()
        _check(head)
        rows = ((s, row) for s in SECTIONS for row in head.get(s, []))
        return head["header"], rows
    _check(head)

    def rows() -> Iterator[tuple[str, list[Any]]]:
        section = None
        with fh:
            for line in fh:
                line = line.strip()
                if line.startswith("["):
                    yield section or "", json.loads(line.rstrip(","))
                elif line.endswith(":["):
                    section = line[1:line.index('"', 1)]
                elif line.startswith("]"):
                    section = None
    return head["header"], rows()


def _check(head: dict[str, Any]) -> None:
    if head.get("format") != FORMAT:
        raise ValueError(f"unsupported simulator state format {head.get('format')!r} (expected {FORMAT})")


# Values repeated across thousands of rows; JSON parsing gives each row its own copy, so they are
# shared again on load (this keeps a loaded organization as small as a generated one).
_SHARED_FIELDS = {"device_type", "model", "os", "os_language", "user_agent", "operator", "eas_version",
                  "client_type", "client_version", "access_rule", "wipe_requestor", "ao_requestor",
                  "first", "last", "site", "database", "server", "type_details", "policy"}


def _object(cls: type, names: list[str], row: list[Any], tuples: tuple[str, ...] = (),
            shared: dict[str, str] | None = None) -> Any:
    values = dict(zip(names, row))
    for name in tuples:
        values[name] = tuple(values.get(name) or ())
    if shared is not None:
        for name in _SHARED_FIELDS.intersection(values):
            if isinstance(values[name], str):
                values[name] = shared.setdefault(values[name], values[name])
    return cls(**values)


def load_store(header: dict[str, Any], rows: Iterable[tuple[str, list[Any]]]) -> Store:
    servers = [ExchangeServer(name=s["name"], fqdn=s["fqdn"], roles=tuple(s["roles"]), site=s["site"],
                              site_name=s["site_name"], version=s["version"], guid=uuid.UUID(s["guid"]))
               for s in header["servers"]]
    store = Store(name=header["name"], domain=header["domain"], servers=servers, anchor=header["anchor"])
    fields = header["fields"]
    shared: dict[str, str] = {}
    for section, row in rows:
        obj = _object(ROW_CLASSES[section], fields[section], row, _TUPLE_FIELDS.get(section, ()), shared)
        if section == "users":
            obj.device_keys = []  # rebuilt by add_device
            store.add_user(obj)
        elif obj.user_key not in store.users:
            continue  # the mailbox was removed while the file was being written
        elif section == "devices":
            store.add_device(obj)
        else:
            store.removed[obj.device_id] = obj
    store.wiped_removed = set(header["wiped_removed"])
    for row in header["rules"]["rows"]:
        rule = _object(AccessRule, header["rules"]["fields"], row)
        store.rules[rule.identity.lower()] = rule
    for row in header["policies"]["rows"]:
        policy = _object(MailboxPolicy, header["policies"]["fields"], row)
        store.policies[policy.name.lower()] = policy
    store.org_settings = dict(header["org_settings"])
    return store
