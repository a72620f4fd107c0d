"""Server and session commands (Get-ExchangeServer, Set-ADServerSettings) and the PowerShell built-ins
a NoLanguage Exchange session still offers (Get-Command, Select-Object)."""
from __future__ import annotations

import fnmatch
import functools
from typing import Any, Iterable, Iterator

from ..model import COMMAND_TYPE
from ..params import Param, binding_error
from ..records import server_record
from ..types import Output, Record
from . import Context, cmdlet, ou_site, plain


@cmdlet("Get-ExchangeServer", Param("Identity", "identity", 0), Param("Domain"), Param("Status", "switch"))
def get_exchange_server(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    identity = p.get("Identity")
    with ctx.lock:
        servers = list(ctx.store.servers)
        rows = []
        for server in servers:
            if identity is not None and str(identity).lower() not in (
                    server.name.lower(), server.fqdn.lower(), str(server.guid)):
                continue
            if p.get("Domain") and str(p["Domain"]).lower() != ctx.store.domain.lower():
                continue
            rows.append(server_record(ctx.store, server))
    if identity is not None and not rows:
        yield ctx.not_found(identity)
        return
    yield from rows


@cmdlet("Set-ADServerSettings", Param("ViewEntireForest", "bool"), Param("RecipientViewRoot"),
        Param("PreferredServer"), Param("ConfigurationDomainController"), Param("PreferredGlobalCatalog"),
        Param("SetPreferredDomainControllers", "list"), Param("RunspaceServerSettings", "any"), should_process=False)
def set_ad_server_settings(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    """Scope settings live on the session (runspace), as in Exchange."""
    settings = ctx.session.ad_settings
    if p.get("RecipientViewRoot"):
        ou_site(ctx, p["RecipientViewRoot"])  # an unknown OU is refused before anything changes
    for key, value in p.items():
        if key in ("ViewEntireForest", "RecipientViewRoot", "PreferredServer", "ConfigurationDomainController",
                   "PreferredGlobalCatalog", "SetPreferredDomainControllers"):
            settings[key] = value
    if p.get("ViewEntireForest"):
        settings["RecipientViewRoot"] = None  # the documented effect of -ViewEntireForest $true
    elif p.get("RecipientViewRoot"):
        settings["ViewEntireForest"] = False
    return
    yield  # no output


@cmdlet("Get-Command", Param("Name", "list", 0), Param("CommandType", "list"), Param("Module", "list"),
        Param("Noun", "list"), Param("Verb", "list"), exchange=False)
def get_command(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    """The commands of this session: Exchange cmdlets as Functions (RBAC proxies), built-ins as Cmdlets."""
    from . import REGISTRY

    names = p.get("Name") or ["*"]
    verbs = [v.lower() for v in p.get("Verb") or []]
    nouns = [n.lower() for n in p.get("Noun") or []]
    types = [t.lower() for t in p.get("CommandType") or []]
    for name in ctx.session.commands():
        defn = REGISTRY[name.lower()]
        verb, _, noun = name.partition("-")
        if not any(fnmatch.fnmatchcase(name.lower(), pattern.lower()) for pattern in names):
            continue
        if (verbs and verb.lower() not in verbs) or (nouns and not any(fnmatch.fnmatchcase(noun.lower(), n) for n in nouns)):
            continue
        kind = "Function" if defn.exchange else "Cmdlet"
        if types and kind.lower() not in types and "all" not in types:
            continue
        module = ctx.session.module_name if defn.exchange else "Microsoft.PowerShell.Utility"
        type_name = "System.Management.Automation.FunctionInfo" if defn.exchange else "System.Management.Automation.CmdletInfo"
        props = {"CommandType": COMMAND_TYPE[kind], "Name": name, "Version": "1.0" if defn.exchange else "3.1.0.0",
                 "Source": module, "ModuleName": module, "Verb": verb, "Noun": noun,
                 "Parameters": sorted(p.name for p in defn.params), "Visibility": "Public"}
        yield Record((type_name, "System.Management.Automation.CommandInfo", "System.Object"), props, name)


@functools.lru_cache(maxsize=64)
def _has_wildcard(patterns: tuple[str, ...]) -> bool:
    return any(ch in pattern for pattern in patterns for ch in "*?[")


def _select_names(record: Record, patterns: list[str]) -> list[str]:
    """The output's property names: as the caller typed them (PowerShell names a selected property
    after the -Property argument, `deviceid` gives `deviceid`); a wildcard gives the object's own names."""
    if not _has_wildcard(tuple(patterns)):
        return list(_typed_names(tuple(patterns)))  # the same for every object: worked out once
    names: list[str] = []
    taken: set[str] = set()
    for pattern in patterns:
        if any(ch in pattern for ch in "*?["):
            found = [n for n in record.properties if fnmatch.fnmatchcase(n.lower(), pattern.lower())]
        else:
            found = [pattern]
        for name in found:
            if name.lower() not in taken:
                taken.add(name.lower())
                names.append(name)
    return names


@functools.lru_cache(maxsize=64)
def _typed_names(patterns: tuple[str, ...]) -> tuple[str, ...]:
    names: list[str] = []
    for name in patterns:
        if name.lower() not in {n.lower() for n in names}:
            names.append(name)
    return tuple(names)


@cmdlet("Select-Object", Param("Property", "list", 0), Param("First", "int"), Param("Skip", "int"),
        Param("Last", "int"), Param("Unique", "switch"), Param("ExcludeProperty", "list"),
        exchange=False)
def select_object(ctx: Context, p: dict[str, Any], pipe: Iterable[Record] | None) -> Iterator[Output]:
    """Project piped objects to PSCustomObjects ("Selected.<type>").

    -ExpandProperty is not offered: its output is a bare value, which a Record cannot carry.
    """
    if pipe is None:
        return
    for key in ("First", "Skip", "Last"):
        if p.get(key) is not None and p[key] < 0:
            raise binding_error(ctx.name, f"Cannot validate argument on parameter '{key}'. The {p[key]} argument is "
                                "less than the minimum allowed range of 0.", "ParameterArgumentValidationError")
    first, skip, last = p.get("First"), p.get("Skip") or 0, p.get("Last")
    patterns = p.get("Property")
    excluded = {x.lower() for x in p.get("ExcludeProperty") or []}
    buffer: list[Record] = []
    emitted = 0
    for index, record in enumerate(pipe):
        if index < skip:
            continue
        if first is not None and emitted >= first:
            break  # stops the upstream generator too: Select-Object -First ends the pipeline early
        out = _project(record, patterns, excluded)
        emitted += 1
        if last is not None:
            buffer = (buffer + [out])[-last:] if last else []
            continue
        yield from out
    for out in buffer:
        yield from out


# (the record's property names, the names selected, the names excluded) -> ((output name, the record's
# name or None), ...): a pipeline projects thousands of records of the same shape the same way.
_PLANS: dict[tuple[tuple[str, ...], tuple[str, ...], frozenset[str]], tuple[tuple[str, str | None], ...]] = {}


def _plan(have: tuple[str, ...], names: tuple[str, ...], excluded: frozenset[str]) -> tuple[tuple[str, str | None], ...]:
    key = (have, names, excluded)
    plan = _PLANS.get(key)
    if plan is None:
        source = {n.lower(): n for n in have}  # of two names differing only in case, the last one
        plan = tuple((n, source.get(n.lower())) for n in names if n.lower() not in excluded)
        if len(_PLANS) > 256:
            _PLANS.clear()
        _PLANS[key] = plan
    return plan


def _project(record: Record, patterns: list[str] | None, excluded: set[str]) -> list[Output]:
    have = record.properties
    names = _select_names(record, patterns) if patterns else list(have)
    props = {n: None if k is None else have[k] for n, k in _plan(tuple(have), tuple(names), frozenset(excluded))}
    text = "@{" + "; ".join([f"{k}={v}" if type(v) is str else f"{k}=" if v is None else f"{k}={plain(v)}"
                             for k, v in props.items()]) + "}"
    types = (f"Selected.{record.type_names[0]}", "System.Management.Automation.PSCustomObject", "System.Object")
    return [Record(types, props, text)]
