"""Device partnerships: Get-/Remove-/Clear-ActiveSyncDevice, statistics and device classes."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

from ..model import Device, to_dt
from ..opath import OPathError, compile_filter
from ..params import Param, binding_error, exchange_error
from ..records import (T_CAS, T_MAILBOX, T_RECIPIENT, T_USER, device_properties, device_record,
                       statistics_record)
from ..types import ErrorCategory, NonTerminatingError, Output, Record
from . import Context, chunked_keys, cmdlet, limited, one_device, pipe_identities, plain

# Reference §1.2: filterable properties of Get-ActiveSyncDevice (plus WhenChanged/WhenCreated,
# which delta synchronisation needs).
DEVICE_FILTER = {
    "ClientType": "str", "DeviceAccessControlRule": "str", "DeviceAccessState": "str",
    "DeviceAccessStateReason": "str", "DeviceActiveSyncVersion": "str", "DeviceId": "str", "DeviceImei": "str",
    "DeviceMobileOperator": "str", "DeviceModel": "str", "DeviceOS": "str", "DeviceOSLanguage": "str",
    "DeviceTelephoneNumber": "str", "DeviceType": "str", "DeviceUserAgent": "str", "FirstSyncTime": "datetime",
    "FriendlyName": "str", "ProvisioningFlags": "int", "UserDisplayName": "str",
    "WhenChanged": "datetime", "WhenCreated": "datetime",
}
DEVICE_SORT = [k for k in DEVICE_FILTER if k not in ("ClientType", "DeviceActiveSyncVersion", "ProvisioningFlags")]
_RECIPIENT_TYPES = {T_CAS[0], T_MAILBOX[0], T_RECIPIENT[0], T_USER[0]}


def compile_or_fail(ctx: Context, text: Any, properties: dict[str, str]) -> Callable[..., bool] | None:
    if text is None:
        return None
    try:
        return compile_filter(str(text), properties)
    except OPathError as exc:
        raise binding_error(ctx.name, str(exc), "ParameterBindingFailed") from None


def check_sort(ctx: Context, sort_by: Any, allowed: list[str]) -> str | None:
    if sort_by is None:
        return None
    for name in allowed:
        if name.lower() == str(sort_by).lower():
            return name
    raise binding_error(ctx.name, f"Cannot bind parameter 'SortBy' to the target. Exception setting \"SortBy\": "
                        f"\"The property '{sort_by}' can't be used for sorting. Valid properties are: "
                        f"{', '.join(allowed)}.\"", "ParameterBindingFailed")


def _sort_key(value: Any) -> tuple[int, Any]:
    value = plain(value)
    if value is None:
        return (0, "")
    return (1, value.lower() if isinstance(value, str) else value)


def device_rows(ctx: Context, keys: list[int], predicate: Callable[..., bool] | None, sort_by: str | None,
                build: Callable[..., Record]) -> Iterator[Record]:
    """Records for `keys`, filtered and sorted, built a chunk at a time under the lock."""
    store = ctx.store
    if sort_by:
        with ctx.lock:
            decorated = []
            for key in keys:
                d = store.devices.get(key)
                if d is not None:
                    props = device_properties(store, d, store.users[d.user_key])
                    if predicate is None or predicate(lambda n: plain(props[n])):
                        decorated.append((_sort_key(props[sort_by]), key))
        decorated.sort(key=lambda pair: pair[0])
        keys, predicate = [k for _, k in decorated], None
    for chunk in chunked_keys(keys):
        out: list[Record] = []
        with ctx.lock:
            for key in chunk:
                d = store.devices.get(key)
                if d is None:  # removed since the keys were taken
                    continue
                u = store.users[d.user_key]
                if predicate is not None:
                    props = device_properties(store, d, u)
                    if not predicate(lambda n: plain(props[n])):
                        continue
                out.append(build(store, d, u))
        yield from out


def _device_keys(ctx: Context, p: dict[str, Any]) -> list[int] | NonTerminatingError:
    """Keys of the devices selected by -Identity / -Mailbox (or all), within the recipient scope."""
    store = ctx.store
    in_scope = ctx.scope(p)
    with ctx.lock:
        if p.get("Identity") is not None:
            found = [d for d in store.find_devices(p["Identity"])
                     if in_scope is None or in_scope(store.users[d.user_key])]
            return [d.key for d in found] if found else ctx.not_found(p["Identity"])
        if p.get("Mailbox") is not None:
            users = [u for u in store.find_users(p["Mailbox"]) if in_scope is None or in_scope(u)]
            return list(users[0].device_keys) if users else ctx.not_found(p["Mailbox"])
        if in_scope is None:
            return list(store.devices)
        return [k for u in store.users.values() if in_scope(u) for k in u.device_keys]


_GET_PARAMS = (Param("Identity", "identity", 0), Param("Mailbox", "identity"), Param("Filter"),
               Param("ResultSize", "resultsize"), Param("SortBy"), Param("OrganizationalUnit"),
               Param("Monitoring", "switch"), Param("ActiveSync", "switch"), Param("OWAforDevices", "switch"),
               Param("RestApi", "switch"), Param("UniversalOutlook", "switch"))


@cmdlet("Get-ActiveSyncDevice", *_GET_PARAMS, aliases=("Get-MobileDevice",))
def get_device(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    predicate = compile_or_fail(ctx, p.get("Filter"), DEVICE_FILTER)
    sort_by = check_sort(ctx, p.get("SortBy"), DEVICE_SORT)
    keys = _device_keys(ctx, p)
    if isinstance(keys, NonTerminatingError):
        yield keys
        return
    yield from limited(ctx, p, device_rows(ctx, keys, predicate, sort_by, device_record))


_STATS_PARAMS = (Param("Identity", "identity", 0), Param("Mailbox", "identity"), Param("GetMailboxLog", "switch"),
                 Param("ShowRecoveryPassword", "switch"), Param("NotificationEmailAddresses", "list"),
                 Param("ActiveSync", "switch"), Param("OWAforDevices", "switch"), Param("RestApi", "switch"),
                 Param("UniversalOutlook", "switch"))


@cmdlet("Get-ActiveSyncDeviceStatistics", *_STATS_PARAMS, aliases=("Get-MobileDeviceStatistics",))
def get_statistics(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    show = bool(p.get("ShowRecoveryPassword"))

    def build(store: Any, d: Device, u: Any) -> Record:
        return statistics_record(store, d, u, show)

    def for_identity(identity: Any, mailbox: bool) -> Iterator[Output]:
        keys = _device_keys(ctx, {"Mailbox": identity} if mailbox else {"Identity": identity})
        if isinstance(keys, NonTerminatingError):
            yield keys
        else:
            yield from device_rows(ctx, keys, None, None, build)

    if pipe is not None:
        for identity, record in pipe_identities(pipe):
            mailbox = record is not None and record.type_names[0] in _RECIPIENT_TYPES
            yield from for_identity(identity, mailbox)
    elif p.get("Identity") is not None:
        yield from for_identity(p["Identity"], False)
    elif p.get("Mailbox") is not None:
        yield from for_identity(p["Mailbox"], True)
    else:
        raise binding_error(ctx.name, "Cannot process command because of one or more missing mandatory "
                            "parameters: Identity.", "MissingMandatoryParameter")


def _targets(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Device | NonTerminatingError]:
    identities = [i for i, _ in pipe_identities(pipe)] if pipe is not None else [p.get("Identity")]
    for identity in identities:
        yield one_device(ctx, identity)


def _cannot_cancel(ctx: Context, identity: str) -> Exception:
    return ctx.fail(exchange_error(
        ctx.name, ctx.server, f"The remote wipe request for mobile device '{identity}' can't be canceled because the "
        "device has already acknowledged it and been wiped.", "System.InvalidOperationException",
        ErrorCategory.InvalidOperation, identity, "5E4D3C2B"))


def clear_device(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    """Queue (or with -Cancel withdraw) a remote wipe; it is delivered when the device next syncs."""
    account_only = bool(p.get("AccountOnly"))
    for target in _targets(ctx, p, pipe):
        if isinstance(target, NonTerminatingError):
            yield target
            continue
        if p.get("WhatIf"):
            continue
        with ctx.lock:
            d, now = target, ctx.now()
            if p.get("Cancel"):
                if (d.wipe_ack is not None and d.wipe_request is not None) or \
                        (d.ao_ack is not None and d.ao_request is not None):
                    raise _cannot_cancel(ctx, ctx.store.device_identity(d))
                if d.wipe_request is not None or d.ao_request is not None:
                    d.wipe_request = d.wipe_sent = d.wipe_requestor = d.wipe_notify = None
                    d.ao_request = d.ao_sent = d.ao_requestor = None
                    d.when_changed = now
                continue
            if account_only:
                d.ao_request, d.ao_sent, d.ao_ack, d.ao_requestor = now, None, None, ctx.account
            else:
                d.wipe_request, d.wipe_sent, d.wipe_ack, d.wipe_requestor = now, None, None, ctx.account
                d.wipe_notify = p.get("NotificationEmailAddresses")
            d.when_changed = now


_CLEAR = (Param("Identity", "identity", 0, mandatory=True), Param("Cancel", "switch"),
          Param("NotificationEmailAddresses", "list"))
cmdlet("Clear-ActiveSyncDevice", *_CLEAR, confirm=True)(clear_device)
cmdlet("Clear-MobileDevice", *_CLEAR, Param("AccountOnly", "switch"), confirm=True)(clear_device)


@cmdlet("Remove-ActiveSyncDevice", Param("Identity", "identity", 0, mandatory=True), confirm=True,
        aliases=("Remove-MobileDevice",))
def remove_device(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    """Delete the partnership; a device that was not wiped re-creates it at its next sync."""
    for target in _targets(ctx, p, pipe):
        if isinstance(target, NonTerminatingError):
            yield target
            continue
        if not p.get("WhatIf"):
            with ctx.lock:
                ctx.org.forget_device(target)


@cmdlet("Get-ActiveSyncDeviceClass", Param("Identity", "identity", 0), Param("Filter"),
        Param("ResultSize", "resultsize"), Param("SortBy"))
def get_device_class(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    """One object per DeviceType + DeviceModel seen in the organization (Intune's connector reads these)."""
    predicate = compile_or_fail(ctx, p.get("Filter"), {"DeviceType": "str", "DeviceModel": "str", "Name": "str"})
    with ctx.lock:
        seen: dict[tuple[str, str], int] = {}
        for d in ctx.store.devices.values():
            key = (d.device_type, d.model)
            seen[key] = max(seen.get(key, 0), d.last_success or d.first_sync)
    rows = []
    for (device_type, model), when in sorted(seen.items()):
        name = f"{device_type}§{model}"
        props = {"DeviceType": device_type, "DeviceModel": model, "LastUpdateTime": to_dt(when), "Name": name,
                 "Identity": name, "IsValid": True, "ObjectState": "Unchanged"}
        if p.get("Identity") is not None and str(p["Identity"]).lower() != name.lower():
            continue
        if predicate is None or predicate(props.get):
            rows.append(Record(("Microsoft.Exchange.Data.Directory.SystemConfiguration.ActiveSyncDeviceClass",
                                "Microsoft.Exchange.Data.Directory.ADConfigurationObject", "System.Object"), props, name))
    yield from limited(ctx, p, iter(rows))
