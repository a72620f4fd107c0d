"""Deterministic generation of an organization's data from a seed.

Everything random comes from one `random.Random(seed)`, drawn in a fixed order, so the same seed and
sizes give the same users, devices and states; times are offsets from the `anchor` (generation time).
"""
from __future__ import annotations

import random
import uuid

from .catalog import (FIRST_NAMES, LANGUAGES, LAST_NAMES, OPERATORS, POLICY_DEFAULTS, PROFILES, Profile)
from .model import AccessRule, Device, MailboxPolicy, User
from .store import Store
from .types import ExchangeServer

DAY = 86400
# Devices per mailbox: mostly one or two, a few none (mean ~1.5).
_COUNT_WEIGHTS = ((0, 8), (1, 45), (2, 34), (3, 9), (4, 4))
_COUNT_TABLE = [n for n, w in _COUNT_WEIGHTS for _ in range(w)]
_PROFILE_TABLE: list[Profile] = [p for p in PROFILES for _ in range(p.weight)]


def random_guid(rng: random.Random) -> int:
    """A version-4 GUID as an int (stored as int: 3x smaller than uuid.UUID)."""
    value = rng.getrandbits(128)
    value &= ~(0xF000 << 64)
    value |= 0x4000 << 64
    value &= ~(0xC000 << 48)
    value |= 0x8000 << 48
    return value


def _imei(rng: random.Random) -> str:
    body = "35" + "%012d" % rng.randrange(10 ** 12)
    total = 0
    for i, ch in enumerate(body):  # Luhn check digit, as real IMEIs carry
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return body + str((10 - total % 10) % 10)


def make_servers(rng: random.Random, domain: str, sites: tuple[str, ...]) -> list[ExchangeServer]:
    """Two CAS in the first site, one in every other site, one mailbox server per site."""
    servers: list[ExchangeServer] = []
    cas = 0
    for s_index, site in enumerate(sites):
        for _ in range(2 if s_index == 0 else 1):
            cas += 1
            name = f"EXCAS{cas:02d}"
            servers.append(ExchangeServer(name=name, fqdn=f"{name.lower()}.{domain}", roles=("ClientAccess",),
                                          site=f"{domain}/Configuration/Sites/{site}", site_name=site,
                                          guid=uuid.UUID(int=random_guid(rng))))
    for s_index, site in enumerate(sites):
        name = f"EXMBX{s_index + 1:02d}"
        servers.append(ExchangeServer(name=name, fqdn=f"{name.lower()}.{domain}", roles=("Mailbox",),
                                      site=f"{domain}/Configuration/Sites/{site}", site_name=site,
                                      guid=uuid.UUID(int=random_guid(rng))))
    return servers


_STRINGS: dict[str, str] = {}


def _interned(text: str) -> str:
    """Share equal strings between devices (user agents repeat thousands of times)."""
    return _STRINGS.setdefault(text, text)


def _phone(rng: random.Random) -> str:
    prefix = rng.choice(("+1425555", "+4915112", "+4479460", "+3361234"))
    return prefix + "%04d" % rng.randrange(10000)


def new_device(rng: random.Random, store: Store, user: User, now: int, profile: Profile | None = None,
               recent: bool | None = None) -> Device:
    """A device for `user` with values drawn from a profile; the caller adds it to the store."""
    profile = profile or _PROFILE_TABLE[int(rng.random() * len(_PROFILE_TABLE))]
    os_name, build = profile.os_builds[int(rng.random() * len(profile.os_builds))]
    if recent is None:
        recent = not profile.legacy and rng.random() >= 0.08
    if recent:
        last_success = now - int(rng.random() * 3 * DAY)
    else:  # inactive for one month to two years
        last_success = now - int((30 + rng.random() * 670) * DAY)
    first_sync = last_success - int(rng.random() * 1200 * DAY) - 3600
    has_phone = profile.has_phone
    device = Device(
        key=store.next_device_key, user_key=user.key, device_type=profile.device_type,
        device_id="%032X" % rng.getrandbits(128), model=profile.model, os=os_name,
        os_language=LANGUAGES[int(rng.random() * len(LANGUAGES))],
        user_agent=_interned(profile.user_agent.replace("{build}", build)),
        imei=_imei(rng) if has_phone else "", operator=rng.choice(OPERATORS) if has_phone else "",
        phone=_phone(rng) if has_phone else "",
        eas_version=profile.eas_versions[int(rng.random() * len(profile.eas_versions))],
        client_type=profile.client_type, client_version="15.1 (Build 2507.6)" if profile.client_type == "EAS" else "",
        guid=random_guid(rng), first_sync=first_sync, last_success=last_success,
        last_attempt=last_success + int(rng.random() * 5), when_created=first_sync, when_changed=last_success,
        last_policy_update=first_sync + int((last_success - first_sync) * rng.random()),
        wipe_supported=profile.wipe_supported, provisionable=profile.provisionable, dormant=not recent,
        folders=2 + int(rng.random() * 30), heartbeat=None if profile.client_type == "Outlook" else 470 + int(rng.random() * 1270),
    )
    store.next_device_key += 1
    return device


def _new_user(rng: random.Random, store: Store, sites: tuple[str, ...], now: int, seen: dict[str, int]) -> User:
    first = FIRST_NAMES[int(rng.random() * len(FIRST_NAMES))]
    last = LAST_NAMES[int(rng.random() * len(LAST_NAMES))]
    base = (first[0] + last).lower().replace("'", "").replace("ü", "ue")[:16]
    n = seen.get(base, 0) + 1
    seen[base] = n
    alias = base if n == 1 else f"{base}{n}"
    name = f"{first} {last}" if n == 1 else f"{first} {last} {n}"
    site_index = 0 if rng.random() < 0.7 or len(sites) == 1 else 1 + int(rng.random() * (len(sites) - 1))
    created = now - int((60 + rng.random() * 2500) * DAY)
    user = User(key=store.next_user_key, first=first, last=last, name=name, display_name=name, alias=alias,
                sam=alias[:20], guid=random_guid(rng), site=sites[site_index], database=f"DB{site_index + 1:02d}",
                server=f"EXMBX{site_index + 1:02d}", when_created=created, when_changed=created)
    store.next_user_key += 1
    return user


def _default_policies(store: Store, rng: random.Random, now: int) -> None:
    created = now - 2000 * DAY
    store.policies["default"] = MailboxPolicy("Default", random_guid(rng), True, dict(POLICY_DEFAULTS), created, created)
    executives = dict(POLICY_DEFAULTS)
    executives.update(DevicePasswordEnabled=True, MinDevicePasswordLength=6, AllowSimpleDevicePassword=False,
                      MaxDevicePasswordFailedAttempts="8", MaxInactivityTimeDeviceLock="00:15:00",
                      RequireDeviceEncryption=True, PasswordRecoveryEnabled=True)
    store.policies["executives"] = MailboxPolicy("Executives", random_guid(rng), False, executives, created, created)


def _default_rules(store: Store, rng: random.Random, now: int) -> None:
    created = now - 400 * DAY
    for query, characteristic, level in (("WP8", "DeviceType", "Block"), ("BBB100-2", "DeviceModel", "Quarantine"),
                                         ("Outlook", "DeviceType", "Allow")):
        rule = AccessRule(query, characteristic, level, random_guid(rng), created, created)
        store.rules[rule.identity.lower()] = rule


def generate(*, seed: int, devices: int, name: str, domain: str, sites: tuple[str, ...], anchor: int) -> Store:
    """Build the data of an organization with exactly `devices` partnerships."""
    rng = random.Random(seed)
    store = Store(name=name, domain=domain, servers=make_servers(rng, domain, sites), anchor=anchor)
    store.org_settings["Guid"] = random_guid(rng)
    store.org_settings["WhenCreated"] = store.org_settings["WhenChanged"] = anchor - 2000 * DAY
    _default_policies(store, rng, anchor)
    _default_rules(store, rng, anchor)
    seen: dict[str, int] = {}
    remaining = devices
    min_users = 3
    while remaining > 0 or store.next_user_key < min_users:
        user = _new_user(rng, store, sites, anchor, seen)
        count = min(_COUNT_TABLE[int(rng.random() * len(_COUNT_TABLE))], remaining)
        roll = rng.random()
        if roll < 0.02:
            user.activesync_enabled = False
        elif roll < 0.12:
            user.policy = "Executives"
        store.add_user(user)
        for _ in range(count):
            device = new_device(rng, store, user, anchor)
            store.add_device(device)
            roll = rng.random()
            if roll < 0.01:
                user.blocked_ids += (device.device_id,)
            elif roll < 0.03:
                user.allowed_ids += (device.device_id,)
            elif roll < 0.04 and device.dormant and device.wipe_supported:
                # A lost phone wiped months ago: the wipe was requested but never delivered.
                device.wipe_request = device.last_success + DAY
                device.wipe_requestor = f"{store.netbios}\\administrator"
        remaining -= count
    store.evaluate_all(anchor)
    for device in store.devices.values():
        if device.access_state != 1:  # a blocked or quarantined device keeps trying but never succeeds
            device.last_attempt = max(device.last_attempt or 0, device.last_success or 0) + 60
    return store
