"""The simulated Exchange organization: accounts, sessions, and the control operations.

Notes for the protocol layer (additions to the agreed contract, all backwards compatible):
- `Organization.generate(..., now=None)`: the generation "now" (aware datetime); default: the current
  time. Devices' sync times are relative to it, so tests pass a fixed value for byte-identical data.
- `sync_all(include_dormant=False)`: devices generated as lost/abandoned (no sync for months) do not sync
  unless asked, so a wipe on a lost phone stays pending as it would for real.
- `sync_device(device_id)` accepts a DeviceId or a device Identity; raises KeyError when unknown.
- `call_log` entries name positional arguments "@0", "@1", ... (as sent, before binding).
- `Organization.clock` (default time.time) can be replaced by tests that need time to move.
- `add_user`/`add_device`/`change_device` take Exchange property names (DeviceOS, DeviceModel,
  DeviceActiveSyncVersion, ...) or snake_case (device_os); unknown fields raise ValueError, unknown
  identities KeyError. `remove_device` deletes for good; Remove-ActiveSyncDevice keeps the device able
  to come back at its next sync.
- `reset()` restores data, accounts, grants and budgets; the call log and server addresses stay.
- `save()` takes the lock a chunk of rows at a time (never while writing), so autosaving is cheap.
- `Organization.cmdlet_names()` lists every implemented command; `rbac.ROLE_GROUPS` maps each
  Exchange cmdlet to the role group that grants it.
- `types.py` is unchanged.

Layout: generator.py (data from the seed) -> store.py (rows and indexes) -> access.py (access
decisions) -> cmdlets/ (one module per area) run by session.py; records.py builds the output objects,
lifecycle.py is what a device sync does, state.py the JSON state file.
"""
from __future__ import annotations

import collections
import datetime as dt
import itertools
import os
import random
import threading
import time
import uuid
from typing import Any, Callable, Iterator

from . import lifecycle, state
from .catalog import DEFAULT_PASSWORD
from .cmdlets import REGISTRY
from .generator import generate as generate_store
from .model import STATE_NAMES, Account, epoch
from .rbac import Budget
from .records import wipe_status
from .session import Session
from .store import Store
from .types import CommandCall, EnumValue, ExchangeServer

CALL_LOG_SIZE = 10_000


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (uuid.UUID,)):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, EnumValue):
        return value.name
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    return str(value)


class Organization:
    """A simulated Exchange organization (thread-safe: one lock, never held while a stream is consumed)."""

    max_sessions_per_account: int = 18  # PowerShellMaxConcurrency of the GlobalThrottlingPolicy

    def __init__(self, store: Store, generation: dict[str, Any], accounts: dict[str, str]):
        self.lock = threading.RLock()
        self.store = store
        self._generation = generation
        self._initial_accounts = dict(accounts)
        self.accounts: dict[str, Account] = {}
        self._set_accounts(accounts)
        self.budget = Budget()
        self.rng = random.Random(generation["seed"] + 1)  # for objects created after generation
        self.clock: Callable[[], float] = time.time
        self._calls: collections.deque[dict[str, Any]] = collections.deque(maxlen=CALL_LOG_SIZE)
        self._seq = itertools.count(1)
        self._sessions: set[Session] = set()

    # ---- construction ---------------------------------------------------------------------
    @classmethod
    def generate(cls, *, seed: int = 1, devices: int = 50, name: str = "Contoso", domain: str = "contoso.com",
                 sites: tuple[str, ...] = ("HQ", "Branch"), accounts: dict[str, str] | None = None,
                 now: dt.datetime | None = None) -> "Organization":
        """Generate an organization with `devices` partnerships, deterministically from `seed`."""
        netbios = domain.split(".")[0].upper()
        accounts = dict(accounts) if accounts else {f"{netbios}\\svc-easconsole": DEFAULT_PASSWORD}
        anchor = epoch(now or dt.datetime.now(dt.timezone.utc))
        generation = {"seed": seed, "devices": devices, "name": name, "domain": domain, "sites": list(sites),
                      "anchor": anchor}
        store = generate_store(seed=seed, devices=devices, name=name, domain=domain, sites=tuple(sites), anchor=anchor)
        return cls(store, generation, accounts)

    def _set_accounts(self, accounts: dict[str, str]) -> None:
        self.accounts = {}
        for account, password in accounts.items():
            canonical = self._canonical(account)
            self.accounts[canonical.lower()] = Account(canonical, password)

    def _canonical(self, account: str) -> str:
        netbios = self.store.netbios
        if "@" in account:
            user, _, _ = account.partition("@")
            return f"{netbios}\\{user}"
        if "\\" in account:
            dom, _, user = account.partition("\\")
            return f"{dom.upper()}\\{user}"
        return f"{netbios}\\{account}"

    @property
    def servers(self) -> list[ExchangeServer]:
        return self.store.servers

    @property
    def name(self) -> str:
        return self.store.name

    @property
    def domain(self) -> str:
        return self.store.domain

    def now(self) -> int:
        return int(self.clock())

    # ---- accounts and sessions ------------------------------------------------------------
    def canonical_account(self, account: str) -> str | None:
        """"DOMAIN\\user" for a known account given as DOMAIN\\user, UPN or bare name (any case)."""
        if not account:
            return None
        if "@" in account:
            user, _, dom = account.partition("@")
            if dom.lower() != self.store.domain.lower():
                return None
        found = self.accounts.get(self._canonical(account).lower())
        return found.name if found else None

    def check_password(self, account: str, password: str) -> bool:
        found = self.canonical_account(account)
        return found is not None and self.accounts[found.lower()].password == password

    def password_for(self, account: str) -> str | None:
        found = self.canonical_account(account)
        return self.accounts[found.lower()].password if found else None

    def open_session(self, account: str, server: ExchangeServer) -> Session:
        canonical = self.canonical_account(account)
        if canonical is None:
            raise KeyError(f"unknown account {account!r}")
        session = Session(self, canonical, server)
        with self.lock:
            self._sessions.add(session)
        return session

    def session_closed(self, session: Session) -> None:
        with self.lock:
            self._sessions.discard(session)

    def denied_cmdlets(self, account: str) -> set[str]:
        found = self.accounts.get(account.lower())
        return set(found.denied) if found else set()

    def _account(self, account: str) -> Account:
        canonical = self.canonical_account(account)
        if canonical is None:
            raise KeyError(f"unknown account {account!r}")
        return self.accounts[canonical.lower()]

    def deny_cmdlets(self, account: str, cmdlets: list[str]) -> None:
        with self.lock:
            self._account(account).denied |= {c.lower() for c in cmdlets}

    def grant_cmdlets(self, account: str, cmdlets: list[str]) -> None:
        with self.lock:
            self._account(account).denied -= {c.lower() for c in cmdlets}

    def set_cmdlet_budget(self, account: str | None, max_cmdlets: int | None, period_seconds: int = 60) -> None:
        """Limit cmdlets per period for one account (None: every account); max_cmdlets None lifts it."""
        name = self._account(account).name if account else None
        self.budget.set(name, max_cmdlets, period_seconds)

    # ---- call log -------------------------------------------------------------------------
    def log_call(self, account: str, server: str, call: CommandCall) -> int:
        """Record a call; returns its sequence number."""
        params: dict[str, Any] = {}
        position = 0
        for name, value in call.parameters:
            if name is None:
                name, position = f"@{position}", position + 1
            params[str(name).lstrip("-").rstrip(":")] = _jsonable(value)
        entry = {"time": dt.datetime.now(dt.timezone.utc).isoformat(), "account": account, "server": server,
                 "cmdlet": call.name, "parameters": params}
        with self.lock:
            entry = {"seq": next(self._seq), **entry}
            self._calls.append(entry)
        return entry["seq"]

    def mark_calls(self, seqs: list[int], **marks: Any) -> None:
        """Add fields to logged calls (e.g. throttled=True for calls the budget refused)."""
        wanted = set(seqs)
        with self.lock:
            for entry in self._calls:
                if entry["seq"] in wanted:
                    entry.update(marks)

    def call_log(self, since: int = 0) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(e) for e in self._calls if e["seq"] > since]

    # ---- control: inspection --------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            store = self.store
            by_state = collections.Counter(STATE_NAMES[d.access_state] for d in store.devices.values())
            by_status = collections.Counter(wipe_status(d)[0] for d in store.devices.values())
            open_wipes = sum(1 for d in store.devices.values()
                             if (d.wipe_request is not None and d.wipe_ack is None)
                             or (d.ao_request is not None and d.ao_ack is None))
            return {
                "name": store.name, "domain": store.domain, "seed": self._generation["seed"],
                "counts": {"users": len(store.users), "mailboxes": len(store.users), "devices": len(store.devices),
                           "devices_by_access_state": dict(by_state), "devices_by_status": dict(by_status),
                           "open_wipes": open_wipes, "removed_partnerships": len(store.removed),
                           "sessions": len(self._sessions)},
                "rules": [{"identity": r.identity, "query_string": r.query, "characteristic": r.characteristic,
                           "access_level": r.level} for r in store.rules.values()],
                "organization_settings": {k: _jsonable(v) for k, v in store.org_settings.items()
                                          if k in ("DefaultAccessLevel", "UserMailInsert", "AdminMailRecipients",
                                                   "OtaNotificationMailInsert")},
                "policies": [{"name": p.name, "is_default": p.is_default, "settings": _jsonable(p.settings)}
                             for p in store.policies.values()],
                "servers": [{"name": s.name, "fqdn": s.fqdn, "roles": list(s.roles), "site": s.site_name}
                            for s in store.servers],
                "accounts": [{"account": a.name, "denied_cmdlets": sorted(a.denied)} for a in self.accounts.values()],
                "budgets": {str(k): {"max_cmdlets": v[0], "period_seconds": v[1]} for k, v in self.budget.limits().items()},
            }

    # ---- control: devices and users -------------------------------------------------------
    # Someone working in the Exchange admin center, behind the console's back (drift tests and the demo).
    ADMIN_CENTER_CMDLETS = ("Set-ActiveSyncMailboxPolicy", "New-ActiveSyncDeviceAccessRule", "Set-ActiveSyncDeviceAccessRule",
                            "Remove-ActiveSyncDeviceAccessRule", "Set-ActiveSyncOrganizationSettings")

    def admin_center(self, cmdlet: str, parameters: dict[str, Any]) -> list[Any]:
        """Run one configuration cmdlet as an Exchange administrator (not one of the console's accounts)."""
        if cmdlet not in self.ADMIN_CENTER_CMDLETS:
            raise ValueError(f"the admin center runs only {', '.join(self.ADMIN_CENTER_CMDLETS)}")
        params = dict(parameters)
        if cmdlet.startswith("Remove-"):
            params.setdefault("Confirm", False)
        session = Session(self, "Exchange admin center", self.servers[0])
        try:
            return list(session.run([CommandCall(cmdlet, list(params.items()))]))
        finally:
            session.closed = True

    def sync_device(self, device_id: str) -> dict[str, Any]:
        """The device with this DeviceId (or Identity) contacts Exchange. KeyError if never seen."""
        with self.lock:
            now = self.now()
            found = self.store.find_devices(device_id)
            if found:
                results = [lifecycle.sync(self.store, d, now) for d in found]
                return results[0] if len(results) == 1 else {"partnerships": results, **results[0]}
            key = str(device_id).rpartition("§")[2].upper()
            if key in self.store.removed:
                device = lifecycle.restore(self.store, self.store.removed[key], self.rng, now)
                if device is None:
                    raise KeyError(f"the mailbox of device {device_id!r} no longer exists")
                result = lifecycle.sync(self.store, device, now)
                result["restored"] = True
                return result
            if key in self.store.wiped_removed:
                return {"device_id": key, "synced": False, "restored": False, "wipe": None,
                        "reason": "the device was wiped and no longer syncs"}
        raise KeyError(f"unknown device {device_id!r}")

    def sync_all(self, include_dormant: bool = False) -> int:
        """Every device in use syncs (and removed, non-wiped ones come back); returns how many synced."""
        with self.lock:
            now = self.now()
            for device in list(self.store.removed.values()):
                if include_dormant or not device.dormant:
                    lifecycle.restore(self.store, device, self.rng, now)
            synced = 0
            for device in list(self.store.devices.values()):
                if device.wiped or (device.dormant and not include_dormant):
                    continue
                if lifecycle.sync(self.store, device, now)["synced"]:
                    synced += 1
            return synced

    def forget_device(self, device: Any) -> None:
        """Remove-ActiveSyncDevice (the caller holds the lock)."""
        lifecycle.forget(self.store, device)

    def _one_device(self, identity: str) -> Any:
        found = self.store.find_devices(identity)
        if len(found) != 1:
            raise KeyError(f"device {identity!r} {'is ambiguous' if found else 'not found'}")
        return found[0]

    def _one_user(self, identity: str) -> Any:
        found = self.store.find_users(identity)
        if not found:
            raise KeyError(f"mailbox {identity!r} not found")
        return found[0]

    def add_user(self, **fields: Any) -> dict[str, Any]:
        with self.lock:
            user = lifecycle.add_user(self.store, self.rng, self.now(), fields)
            return lifecycle.user_summary(self.store, user)

    def remove_user(self, identity: str) -> None:
        with self.lock:
            self.store.drop_user(self._one_user(identity))

    def add_device(self, user: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            device = lifecycle.add_device(self.store, self.rng, self._one_user(user), self.now(), fields)
            return lifecycle.device_summary(self.store, device)

    def remove_device(self, identity: str) -> None:
        """The partnership disappears for good (unlike Remove-ActiveSyncDevice, it never comes back)."""
        with self.lock:
            self.store.drop_device(self._one_device(identity))

    def change_device(self, identity: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            device = self._one_device(identity)
            lifecycle.change_device(self.store, device, self.now(), fields)
            return lifecycle.device_summary(self.store, device)

    # ---- control: whole state -------------------------------------------------------------
    def reset(self) -> None:
        """Back to the generated data, accounts and grants (same seed and anchor); the call log stays."""
        g = self._generation
        store = generate_store(seed=g["seed"], devices=g["devices"], name=g["name"], domain=g["domain"],
                               sites=tuple(g["sites"]), anchor=g["anchor"])
        with self.lock:
            servers = {s.name: s for s in self.store.servers}
            for server in store.servers:  # keep the addresses the protocol layer bound
                if server.name in servers:
                    server.fqdn = servers[server.name].fqdn
            store.servers = [servers.get(s.name, s) for s in store.servers]
            self.store = store
            self._set_accounts(self._initial_accounts)
            self.budget = Budget()
            self.rng = random.Random(g["seed"] + 1)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the JSON state file, taking the lock per chunk of rows so sessions keep running."""
        with self.lock:
            header = {"generation": self._generation, "initial_accounts": self._initial_accounts,
                      "accounts": [{"name": a.name, "password": a.password, "denied": sorted(a.denied)}
                                   for a in self.accounts.values()],
                      "budgets": [[k, v[0], v[1]] for k, v in self.budget.limits().items()],
                      "store": state.store_header(self.store)}
            store = self.store

        def chunks(section: str) -> Iterator[list[list[Any]]]:
            source = {"users": store.users, "devices": store.devices, "removed": store.removed}[section]
            names = header["store"]["fields"][section]
            with self.lock:
                keys = list(source)
            for start in range(0, len(keys), 2000):
                with self.lock:
                    rows = [state.row_of(source[k], names) for k in keys[start:start + 2000] if k in source]
                yield rows  # outside the lock: the file is written while sessions run

        state.write(path, header, chunks)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "Organization":
        header, rows = state.read(path)
        org = cls(state.load_store(header["store"], rows), header["generation"], header["initial_accounts"])
        org.accounts = {}
        for entry in header["accounts"]:
            org.accounts[entry["name"].lower()] = Account(entry["name"], entry["password"], set(entry["denied"]))
        for account, max_cmdlets, period in header["budgets"]:
            org.budget.set(account, max_cmdlets, period)
        return org

    @staticmethod
    def cmdlet_names() -> list[str]:
        """Every command the simulator implements (before RBAC)."""
        return sorted(d.name for d in REGISTRY.values())
