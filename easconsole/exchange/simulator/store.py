"""The organization's mutable data and its lookup indexes (no locking here: the Organization locks).

Identity resolution follows what Exchange's identity parameters accept: a mailbox by alias,
SamAccountName, UPN, SMTP address, name, DN, GUID or DOMAIN\\user; a device by its Identity,
DistinguishedName, GUID, or (leniently) its bare DeviceId.
"""
from __future__ import annotations

import uuid
from typing import Any, Iterator

from . import access
from .catalog import FRIENDLY_BY_MODEL
from .model import AccessRule, Device, MailboxPolicy, User
from .types import ExchangeServer


class Store:
    """Users, devices, rules, policies and settings of one organization."""

    def __init__(self, *, name: str, domain: str, servers: list[ExchangeServer], anchor: int):
        self.name = name
        self.domain = domain
        self.netbios = domain.split(".")[0].upper()
        self.domain_dn = ",".join(f"DC={part}" for part in domain.split("."))
        self.servers = servers
        self.anchor = anchor  # generation "now", epoch seconds
        self.users: dict[int, User] = {}
        self.devices: dict[int, Device] = {}
        self.next_user_key = 0
        self.next_device_key = 0
        self.user_index: dict[str, int] = {}
        self.user_guids: dict[int, int] = {}
        self.device_guids: dict[int, int] = {}
        self.device_ids: dict[str, int | list[int]] = {}  # DeviceId (upper case) -> device key(s)
        self.rules: dict[str, AccessRule] = {}  # identity lower -> rule
        self.policies: dict[str, MailboxPolicy] = {}  # name lower -> policy
        self.org_settings: dict[str, Any] = {
            "DefaultAccessLevel": "Allow", "UserMailInsert": None, "AdminMailRecipients": [],
            "OtaNotificationMailInsert": None, "AllowAccessForUnSupportedPlatform": False,
            "Guid": 0, "WhenCreated": anchor, "WhenChanged": anchor,
        }
        self.removed: dict[str, Device] = {}  # DeviceId upper -> a removed, not wiped partnership
        self.wiped_removed: set[str] = set()  # DeviceIds wiped then removed: they never come back
        self._rule_index: access.RuleIndex | None = None

    # ---- names -----------------------------------------------------------------------------
    def user_dn(self, user: User) -> str:
        return f"CN={user.name},OU={user.site},OU=Users,{self.domain_dn}"

    def upn(self, user: User) -> str:
        return f"{user.alias}@{self.domain}"

    def device_name(self, device: Device) -> str:
        return f"{device.device_type}§{device.device_id}"

    def device_identity(self, device: Device, user: User | None = None) -> str:
        user = user or self.users[device.user_key]
        return f"{user.alias}\\ExchangeActiveSyncDevices\\{device.device_type}§{device.device_id}"

    def device_dn(self, device: Device, user: User | None = None) -> str:
        user = user or self.users[device.user_key]
        return f"CN={self.device_name(device)},CN=ExchangeActiveSyncDevices,{self.user_dn(user)}"

    def friendly_name(self, device: Device, user: User | None = None) -> str:
        if device.friendly_name is not None:
            return device.friendly_name
        template = FRIENDLY_BY_MODEL.get(device.model, device.model)
        if "{first}" not in template:
            return template
        user = user or self.users[device.user_key]
        return template.replace("{first}", user.first)

    # ---- indexes ---------------------------------------------------------------------------
    # Only short keys are indexed (alias, SamAccountName, name, GUID, DeviceId); the long identity
    # forms (DN, UPN, device Identity) are parsed down to those, which keeps 100,000 devices small.
    def add_user(self, user: User) -> None:
        self.users[user.key] = user
        self.next_user_key = max(self.next_user_key, user.key + 1)
        for k in (user.alias, user.sam, user.name):
            self.user_index.setdefault(k.lower(), user.key)
        self.user_guids[user.guid] = user.key

    def drop_user(self, user: User) -> None:
        for dkey in list(user.device_keys):
            self.drop_device(self.devices[dkey])
        for k in (user.alias, user.sam, user.name):
            if self.user_index.get(k.lower()) == user.key:
                del self.user_index[k.lower()]
        self.user_guids.pop(user.guid, None)
        del self.users[user.key]

    def add_device(self, device: Device) -> None:
        user = self.users[device.user_key]
        self.devices[device.key] = device
        self.next_device_key = max(self.next_device_key, device.key + 1)
        if device.key not in user.device_keys:
            user.device_keys.append(device.key)
        self.device_guids[device.guid] = device.key
        found = self.device_ids.get(device.device_id)
        if found is None:
            self.device_ids[device.device_id] = device.key
        elif isinstance(found, list):
            found.append(device.key)
        else:  # the same DeviceId on a second mailbox (one phone, two accounts)
            self.device_ids[device.device_id] = [found, device.key]

    def drop_device(self, device: Device) -> None:
        user = self.users[device.user_key]
        self.device_guids.pop(device.guid, None)
        keys = [k for k in self._device_keys(device.device_id) if k != device.key]
        if not keys:
            self.device_ids.pop(device.device_id, None)
        else:
            self.device_ids[device.device_id] = keys[0] if len(keys) == 1 else keys
        if device.key in user.device_keys:
            user.device_keys.remove(device.key)
        del self.devices[device.key]

    def _device_keys(self, device_id: str) -> list[int]:
        found = self.device_ids.get(device_id.upper())
        if found is None:
            return []
        return list(found) if isinstance(found, list) else [found]

    # ---- resolution ------------------------------------------------------------------------
    @staticmethod
    def _guid(text: str) -> int | None:
        try:
            return uuid.UUID(text.strip("{}")).int
        except ValueError:
            return None

    def find_users(self, identity: Any) -> list[User]:
        if isinstance(identity, uuid.UUID):
            key = self.user_guids.get(identity.int)
            return [self.users[key]] if key is not None else []
        text = str(identity).strip()
        low = text.lower().removeprefix("smtp:")
        key = self.user_index.get(low)
        if key is None:
            if "@" in low:  # UPN or SMTP address: the local part is the alias
                local, _, dom = low.partition("@")
                key = self.user_index.get(local) if dom == self.domain.lower() else None
            elif low.startswith("cn="):  # DN: CN=Name,OU=...
                key = self.user_index.get(low[3:].split(",", 1)[0].replace("\\,", ","))
            elif "\\" in low:  # DOMAIN\sam
                dom, _, sam = low.partition("\\")
                key = self.user_index.get(sam) if dom == self.netbios.lower() else None
            elif "/" in low:  # canonical name contoso.com/Users/HQ/Anna Smith
                key = self.user_index.get(low.rsplit("/", 1)[1])
            elif len(low) in (36, 38):
                guid = self._guid(low)
                key = self.user_guids.get(guid) if guid is not None else None
        return [self.users[key]] if key is not None else []

    def find_devices(self, identity: Any) -> list[Device]:
        if isinstance(identity, uuid.UUID):
            key = self.device_guids.get(identity.int)
            return [self.devices[key]] if key is not None else []
        text = str(identity).strip()
        keys = self._device_keys(text)
        if keys:  # a bare DeviceId (lenient: Exchange wants the full identity)
            return [self.devices[k] for k in keys]
        if "§" in text:
            if text.lower().startswith("cn="):  # DN: CN=Type§Id,CN=ExchangeActiveSyncDevices,CN=User,...
                head, _, rest = text.partition(",")
                device_type, _, device_id = head[3:].rpartition("§")
                owner = rest.partition(",")[2] if rest.lower().startswith("cn=exchangeactivesyncdevices,") else ""
            else:  # <mailbox>\ExchangeActiveSyncDevices\Type§Id, or just Type§Id
                owner, _, name = text.rpartition("\\")
                owner = owner[: -len("\\ExchangeActiveSyncDevices")] if owner.lower().endswith(
                    "\\exchangeactivesyncdevices") else owner
                device_type, _, device_id = name.rpartition("§")
            owners = {u.key for u in self.find_users(owner)} if owner else None
            return [self.devices[k] for k in self._device_keys(device_id)
                    if self.devices[k].device_type.lower() == device_type.lower()
                    and (owners is None or self.devices[k].user_key in owners)]
        guid = self._guid(text) if len(text) in (36, 38) else None
        key = self.device_guids.get(guid) if guid is not None else None
        return [self.devices[key]] if key is not None else []

    def find_policy(self, identity: Any) -> MailboxPolicy | None:
        text = str(identity).strip().lower()
        if text in self.policies:
            return self.policies[text]
        for policy in self.policies.values():
            if str(uuid.UUID(int=policy.guid)) == text:
                return policy
        return None

    def default_policy(self) -> MailboxPolicy:
        for policy in self.policies.values():
            if policy.is_default:
                return policy
        raise LookupError("no default policy")  # the generator always creates one

    def policy_of(self, user: User) -> MailboxPolicy:
        if user.policy is not None and user.policy.lower() in self.policies:
            return self.policies[user.policy.lower()]
        return self.default_policy()

    # ---- access ----------------------------------------------------------------------------
    def rule_index(self) -> access.RuleIndex:
        if self._rule_index is None:
            self._rule_index = access.build_rule_index(self.rules.values())
        return self._rule_index

    def rules_changed(self) -> None:
        self._rule_index = None

    def evaluate(self, device: Device, user: User | None = None) -> bool:
        """Re-evaluate one device's access state; True when it changed."""
        user = user or self.users[device.user_key]
        policy = self.policy_of(user)
        result = access.evaluate(user, device, self.rule_index(), self.org_settings["DefaultAccessLevel"],
                                 bool(policy.settings.get("AllowNonProvisionableDevices", True)))
        if result == (device.access_state, device.access_reason, device.access_rule):
            return False
        device.access_state, device.access_reason, device.access_rule = result
        return True

    def evaluate_all(self, when: int) -> int:
        changed = 0
        for device in self.devices.values():
            if self.evaluate(device):
                device.when_changed = when
                changed += 1
        return changed

    def evaluate_user(self, user: User, when: int) -> None:
        for key in user.device_keys:
            device = self.devices[key]
            if self.evaluate(device, user):
                device.when_changed = when

    def iter_devices(self) -> Iterator[Device]:
        return iter(self.devices.values())

    # ---- listing (the control API's GET /devices and GET /users) ----------------------------
    def search_devices(self, *, user: User | None = None, text: str | None = None,
                       access_state: int | None = None) -> Iterator[Device]:
        """Devices in creation order: of one mailbox, whose access state is given, and/or holding ``text``
        (any case) in their Identity, DeviceId, DeviceType, model, OS, FriendlyName, user agent, IMEI or number."""
        needle = text.lower() if text else None
        keys = user.device_keys if user is not None else self.devices
        for key in sorted(keys):
            device = self.devices[key]
            if access_state is not None and device.access_state != access_state:
                continue
            if needle is not None and needle not in self._device_text(device):
                continue
            yield device

    def _device_text(self, d: Device) -> str:
        fields = (self.device_identity(d), d.model, d.os, self.friendly_name(d), d.user_agent, d.imei, d.phone)
        return "\n".join(fields).lower()

    def search_users(self, *, text: str | None = None) -> Iterator[User]:
        """Mailboxes in creation order, holding ``text`` (any case) in their alias, name, display name or UPN."""
        needle = text.lower() if text else None
        for key in sorted(self.users):
            user = self.users[key]
            if needle is None or needle in "\n".join((user.alias, user.name, user.display_name, self.upn(user))).lower():
                yield user
