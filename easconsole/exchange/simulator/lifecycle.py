"""What happens when a simulated device contacts Exchange, and the control operations that add,
change or remove users and devices. Callers hold the organization lock.

Wipe outcomes (reference §1.3 and [MS-ASPROV]):
- Full wipe: at the next sync Exchange sends the RemoteWipe directive (DeviceWipeSentTime) and the device
  acknowledges it (DeviceWipeAckTime, two seconds later); Status becomes DeviceWipeSucceeded and the device
  never syncs again. A device that cannot do remote wipe (IsRemoteWipeSupported False) keeps the request
  pending; Status shows DeviceBlocked, as Exchange's MobileDeviceConfiguration.Status does.
- Account-only wipe: delivered and acknowledged the same way for EAS 16.1+ clients (the account, not the
  device, is wiped; the partnership stops syncing). An older client cannot receive AccountOnlyRemoteWipe:
  the request is never sent, Status stays AccountOnlyDeviceWipePending with a StatusNote saying why, and the
  device keeps syncing mail. The console sees a wipe that never completes and can cancel it.
- A removed partnership re-appears at the device's next sync (new Guid and FirstSyncTime) unless the device
  was wiped.
"""
from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

from .catalog import PROFILES
from .generator import new_device, random_guid
from .model import STATE_NAMES, Device, User, eas_at_least, epoch
from .policy import application_status
from .records import wipe_status
from .store import Store

_DEVICE_FIELDS = {
    "devicetype": "device_type", "deviceid": "device_id", "devicemodel": "model", "model": "model",
    "deviceos": "os", "os": "os", "deviceuseragent": "user_agent", "useragent": "user_agent",
    "deviceactivesyncversion": "eas_version", "easversion": "eas_version", "friendlyname": "friendly_name",
    "devicefriendlyname": "friendly_name", "deviceimei": "imei", "imei": "imei", "devicemobileoperator": "operator",
    "operator": "operator", "devicetelephonenumber": "phone", "phone": "phone", "clienttype": "client_type",
    "deviceoslanguage": "os_language", "oslanguage": "os_language", "dormant": "dormant",
    "lastsuccesssync": "last_success", "lastsyncattempttime": "last_attempt", "firstsynctime": "first_sync",
    "isremotewipesupported": "wipe_supported", "wipesupported": "wipe_supported", "provisionable": "provisionable",
    "clientversion": "client_version",
}
_TIME_FIELDS = {"last_success", "last_attempt", "first_sync"}
_ACCESS_FIELDS = {"device_type", "model", "os", "user_agent", "provisionable"}


def _key(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def _time(value: Any) -> int | None:
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, dt.datetime):
        return epoch(value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc))
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return epoch(parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc))


def device_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Map Exchange property names or snake_case names to Device slots; ValueError for unknown ones."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        slot = _DEVICE_FIELDS.get(_key(name))
        if slot is None:
            raise ValueError(f"unknown device field {name!r}; known: {sorted(set(_DEVICE_FIELDS.values()))}")
        out[slot] = _time(value) if slot in _TIME_FIELDS else value
    if "device_id" in out:
        out["device_id"] = str(out["device_id"]).upper()
    return out


def device_summary(store: Store, d: Device) -> dict[str, Any]:
    user = store.users[d.user_key]
    return {"identity": store.device_identity(d, user), "device_id": d.device_id, "device_type": d.device_type,
            "mailbox": user.alias, "guid": str(uuid.UUID(int=d.guid)), "access_state": STATE_NAMES[d.access_state],
            "access_state_reason": ["Unknown", "Global", "Individual", "DeviceRule", "Upgrade", "Policy"][d.access_reason]
            if d.access_reason < 6 else str(d.access_reason), "access_rule": d.access_rule,
            "status": wipe_status(d)[0], "eas_version": d.eas_version, "dormant": d.dormant}


def user_summary(store: Store, u: User) -> dict[str, Any]:
    return {"alias": u.alias, "name": u.name, "display_name": u.display_name, "upn": store.upn(u),
            "primary_smtp_address": store.upn(u), "sam_account_name": u.sam, "guid": str(uuid.UUID(int=u.guid)),
            "distinguished_name": store.user_dn(u), "activesync_enabled": u.activesync_enabled,
            "devices": len(u.device_keys)}


def sync(store: Store, d: Device, now: int) -> dict[str, Any]:
    """One EAS sync of device `d`: deliver a pending wipe, re-evaluate access, record the sync times."""
    result: dict[str, Any] = {"synced": False, "restored": False, "wipe": None}
    if d.wiped:
        result.update(device_summary(store, d), reason="the device was wiped and no longer syncs")
        return result
    user = store.users[d.user_key]
    d.last_attempt = now
    d.dormant = False
    d.when_changed = now
    if not user.activesync_enabled:  # HTTP 403 before any EAS command: nothing is delivered
        store.evaluate(d, user)
        result.update(device_summary(store, d), reason="Exchange ActiveSync is disabled for the mailbox")
        return result
    if d.wipe_request is not None and d.wipe_ack is None:
        if d.wipe_supported:
            d.wipe_sent, d.wipe_ack, d.wiped = now - 2, now, True
            result["wipe"] = "acknowledged"
        else:
            result["wipe"] = "not supported by the device"
    elif d.ao_request is not None and d.ao_ack is None:
        if eas_at_least(d.eas_version, "16.1"):
            d.ao_sent, d.ao_ack, d.wiped = now - 2, now, True
            result["wipe"] = "account-only acknowledged"
        else:
            result["wipe"] = "account-only wipe unsupported (EAS < 16.1): not sent"
    store.evaluate(d, user)
    if d.access_state == 1 and not d.wiped:
        d.last_success = now
        d.last_policy_update = now
        d.policy_status = application_status(d, store.policy_of(user).settings)
        result["synced"] = True
    elif d.wiped:
        result["synced"] = True  # the wipe exchange itself was a successful contact
        d.last_success = now
    result.update(device_summary(store, d))
    return result


def restore(store: Store, d: Device, rng: random.Random, now: int) -> Device | None:
    """A removed partnership comes back at the device's next sync, as a new AD object."""
    store.removed.pop(d.device_id, None)
    if d.user_key not in store.users:
        return None
    d.key = store.next_device_key
    d.guid = random_guid(rng)
    d.first_sync = d.when_created = now
    d.wipe_request = d.wipe_sent = d.wipe_ack = d.wipe_requestor = d.wipe_notify = None
    d.ao_request = d.ao_sent = d.ao_ack = d.ao_requestor = None
    store.add_device(d)
    return d


def forget(store: Store, d: Device) -> None:
    """Remove-ActiveSyncDevice: drop the partnership; remember it so the device can come back."""
    store.drop_device(d)
    if d.wiped:
        store.wiped_removed.add(d.device_id)
    else:
        store.removed[d.device_id] = d


def add_device(store: Store, rng: random.Random, user: User, now: int, fields: dict[str, Any]) -> Device:
    slots = device_fields(fields)
    profile = None
    if "device_type" in slots or "model" in slots:
        for candidate in PROFILES:
            if candidate.model == slots.get("model") or (
                    "model" not in slots and candidate.device_type.lower() == str(slots["device_type"]).lower()):
                profile = candidate
                break
    device = new_device(rng, store, user, now, profile, recent=True)
    device.first_sync = device.when_created = device.last_policy_update = now
    device.last_success = device.last_attempt = device.when_changed = now
    for slot, value in slots.items():
        setattr(device, slot, value)
    store.add_device(device)
    store.evaluate(device, user)
    return device


def change_device(store: Store, d: Device, now: int, fields: dict[str, Any]) -> None:
    slots = device_fields(fields)
    if "device_id" in slots or "device_type" in slots:  # both are part of the identity: re-index
        store.drop_device(d)
        for slot, value in slots.items():
            setattr(d, slot, value)
        store.add_device(d)
    else:
        for slot, value in slots.items():
            setattr(d, slot, value)
    d.when_changed = now
    store.evaluate(d)


def add_user(store: Store, rng: random.Random, now: int, fields: dict[str, Any]) -> User:
    f = {_key(k): v for k, v in fields.items()}
    known = {"alias", "first", "firstname", "last", "lastname", "name", "displayname", "site",
             "activesyncenabled", "policy", "activesyncmailboxpolicy", "allowedids", "activesyncalloweddeviceids",
             "blockedids", "activesyncblockeddeviceids"}
    unknown = set(f) - known
    if unknown:
        raise ValueError(f"unknown user fields {sorted(unknown)}; known: {sorted(known)}")
    first = str(f.get("first", f.get("firstname", "New")))
    last = str(f.get("last", f.get("lastname", "User")))
    alias = str(f.get("alias") or (first[0] + last).lower())
    if store.find_users(alias):
        raise ValueError(f"a recipient with alias {alias!r} already exists")
    name = str(f.get("name") or f.get("displayname") or f"{first} {last}")
    if name.lower() in store.user_index:
        name = f"{name} {alias}"
    sites = [s.site_name for s in store.servers if "Mailbox" in s.roles]
    site = str(f.get("site") or sites[0])
    index = sites.index(site) if site in sites else 0
    user = User(key=store.next_user_key, first=first, last=last, name=name,
                display_name=str(f.get("displayname") or name), alias=alias, sam=alias[:20], guid=random_guid(rng),
                site=site, database=f"DB{index + 1:02d}", server=f"EXMBX{index + 1:02d}", when_created=now,
                when_changed=now, activesync_enabled=bool(f.get("activesyncenabled", True)),
                allowed_ids=tuple(f.get("allowedids") or f.get("activesyncalloweddeviceids") or ()),
                blocked_ids=tuple(f.get("blockedids") or f.get("activesyncblockeddeviceids") or ()),
                policy=f.get("policy") or f.get("activesyncmailboxpolicy"))
    store.add_user(user)
    return user
