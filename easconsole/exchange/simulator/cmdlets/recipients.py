"""Recipients: Get-Recipient, Get-Mailbox, Get-User, Get-CASMailbox and Set-CASMailbox."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

from ..params import Param
from ..records import (T_CAS, T_MAILBOX, T_RECIPIENT, T_USER, cas_mailbox_properties, mailbox_properties, recipient_properties, user_properties)
from ..types import NonTerminatingError, Output, Record
from . import Context, chunked_keys, cmdlet, limited, one_user, pipe_identities, plain
from .config import apply_multivalued
from .devices import check_sort, compile_or_fail

_COMMON_FILTER = {
    "Alias": "str", "DisplayName": "str", "Name": "str", "PrimarySmtpAddress": "str", "EmailAddresses": "str",
    "SamAccountName": "str", "DistinguishedName": "str", "Guid": "str", "WhenCreated": "datetime",
    "WhenChanged": "datetime", "ExternalDirectoryObjectId": "str", "RecipientType": "str",
    "RecipientTypeDetails": "str", "Database": "str", "ServerName": "str", "FirstName": "str", "LastName": "str",
    "UserPrincipalName": "str", "WindowsLiveID": "str", "HasActiveSyncDevicePartnership": "bool",
    "ActiveSyncMailboxPolicy": "str",
}
_CAS_FILTER = dict(_COMMON_FILTER, ActiveSyncEnabled="bool", ActiveSyncAllowedDeviceIDs="str",
                   ActiveSyncBlockedDeviceIDs="str", ActiveSyncMailboxPolicyIsDefaulted="bool")
_SORT = ["Name", "DisplayName", "Alias", "FirstName", "LastName"]


def _user_rows(ctx: Context, p: dict[str, Any], filters: dict[str, str],
               build: Callable[..., dict[str, Any]], types: tuple[str, ...]) -> Iterator[Output]:
    predicate = compile_or_fail(ctx, p.get("Filter"), filters)
    sort_by = check_sort(ctx, p.get("SortBy"), _SORT)
    wanted = {t.lower() for t in (p.get("RecipientTypeDetails") or [])}
    if wanted and not wanted & {"usermailbox"}:
        return  # the simulated organization has only user mailboxes
    store = ctx.store
    in_scope = ctx.scope(p)
    with ctx.lock:
        if p.get("Identity") is not None:
            found = [u for u in store.find_users(p["Identity"]) if in_scope is None or in_scope(u)]
            keys: list[int] | None = [u.key for u in found] if found else None
        elif in_scope is None:
            keys = list(store.users)
        else:
            keys = [u.key for u in store.users.values() if in_scope(u)]
    if keys is None:
        yield ctx.not_found(p["Identity"])
        return
    if sort_by:
        with ctx.lock:
            keys.sort(key=lambda k: str(getattr(store.users[k], {"Name": "name", "DisplayName": "display_name",
                                                                 "Alias": "alias", "FirstName": "first",
                                                                 "LastName": "last"}[sort_by])).lower()
                      if k in store.users else "")

    def rows() -> Iterator[Record]:
        for chunk in chunked_keys(keys):
            out = []
            with ctx.lock:
                for key in chunk:
                    user = store.users.get(key)
                    if user is None:
                        continue
                    props = build(store, user)
                    if predicate is not None:
                        extra = {"UserPrincipalName": store.upn(user), "FirstName": user.first, "LastName": user.last}
                        if not predicate(lambda n: plain(props[n] if n in props else extra.get(n))):
                            continue
                    out.append(Record(types, props, props["Identity"]))
            yield from out
    yield from limited(ctx, p, rows())


_GET = (Param("Identity", "identity", 0), Param("Filter"), Param("ResultSize", "resultsize"), Param("SortBy"),
        Param("OrganizationalUnit"), Param("IgnoreDefaultScope", "switch"), Param("ReadFromDomainController", "switch"))


@cmdlet("Get-CASMailbox", *_GET, Param("ActiveSyncDebugLogging", "switch"), Param("RecipientTypeDetails", "list"))
def get_cas_mailbox(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    yield from _user_rows(ctx, p, _CAS_FILTER, cas_mailbox_properties, T_CAS)


@cmdlet("Get-Mailbox", *_GET, Param("RecipientTypeDetails", "list"), Param("Anr"))
def get_mailbox(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    yield from _user_rows(ctx, p, _COMMON_FILTER, mailbox_properties, T_MAILBOX)


@cmdlet("Get-Recipient", *_GET, Param("RecipientType", "list"), Param("RecipientTypeDetails", "list"), Param("Anr"))
def get_recipient(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    wanted = {t.lower() for t in (p.get("RecipientType") or [])}
    if wanted and "usermailbox" not in wanted:
        return
    yield from _user_rows(ctx, p, _COMMON_FILTER, recipient_properties, T_RECIPIENT)


@cmdlet("Get-User", *_GET, Param("RecipientTypeDetails", "list"), Param("Anr"))
def get_user(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    yield from _user_rows(ctx, p, _COMMON_FILTER, user_properties, T_USER)


@cmdlet("Set-CASMailbox", Param("Identity", "identity", 0, mandatory=True),
        Param("ActiveSyncAllowedDeviceIDs", "mv"), Param("ActiveSyncBlockedDeviceIDs", "mv"),
        Param("ActiveSyncEnabled", "bool"), Param("ActiveSyncMailboxPolicy", "identity"),
        Param("ActiveSyncDebugLogging", "bool"), Param("ActiveSyncSuppressReadReceipt", "bool"))
def set_cas_mailbox(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    """Per-user EAS settings; every change re-evaluates that user's devices."""
    identities = [i for i, _ in pipe_identities(pipe)] if pipe is not None else [p["Identity"]]
    for identity in identities:
        user = one_user(ctx, identity)
        if isinstance(user, NonTerminatingError):
            yield user
            continue
        if p.get("WhatIf"):
            continue
        with ctx.lock:
            policy_name: str | None = user.policy
            if "ActiveSyncMailboxPolicy" in p:
                if p["ActiveSyncMailboxPolicy"] is None:
                    policy_name = None  # back to the default, ActiveSyncMailboxPolicyIsDefaulted = True
                else:
                    policy = ctx.store.find_policy(p["ActiveSyncMailboxPolicy"])
                    if policy is None:
                        nt = ctx.not_found(p["ActiveSyncMailboxPolicy"])
                        raise ctx.fail(nt.info)
                    policy_name = policy.name
            user.policy = policy_name
            if "ActiveSyncAllowedDeviceIDs" in p:
                user.allowed_ids = tuple(apply_multivalued(user.allowed_ids, p["ActiveSyncAllowedDeviceIDs"]))
            if "ActiveSyncBlockedDeviceIDs" in p:
                user.blocked_ids = tuple(apply_multivalued(user.blocked_ids, p["ActiveSyncBlockedDeviceIDs"]))
            if p.get("ActiveSyncEnabled") is not None:
                user.activesync_enabled = p["ActiveSyncEnabled"]
            now = ctx.now()
            user.when_changed = now
            ctx.store.evaluate_user(user, now)
