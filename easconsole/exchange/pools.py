"""Reclaiming the runspace pools the console left open on Exchange.

Exchange keeps an idle pool for hours and allows an account about 18 at once (PowerShellMaxConcurrency),
so pools left behind (a worker killed mid-operation, a close that failed while a server was
unreachable) end up refusing every operation. `reclaim()` lists the shells the account holds on each
server (WSMan Enumerate) and deletes those the console opened that nobody is using. A shell is the
console's when its name says so (`shells.shell_name()`); it is deleted when:

1. this process opened it and no session of this process holds it any more (a close that failed);
2. it was opened on this host by a process that is gone (a worker killed or restarted);
3. otherwise (another host, or a process still running), when it has been inactive for longer than
   any operation in use can be (STALE_AFTER_SECONDS): a gateway rebuilds a session idle for more than
   60 s before using it again, and a streamed read polls Exchange every few seconds.

Shells of other tools, even with the same account, are never touched. Several workers may reclaim at
the same time: a shell one of them deleted first is simply gone for the others.
"""
from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from typing import Callable, Iterable

from . import shells
from .transport import CLOSE_TIMEOUT_SECONDS, _WSMan, close_options, error_from_exception
from .values import ConnectionSettings

log = logging.getLogger(__name__)
easdisc = logging.getLogger("easconsole.easdisc")

STALE_AFTER_SECONDS = 30 * 60.0


@dataclass
class ReclaimReport:
    """What one reclaim found, per server."""

    reclaimed: list[tuple[str, str, str]] = field(default_factory=list)  # (server, shell id, why)
    in_use: int = 0  # the console's shells left alone
    failed: list[tuple[str, str]] = field(default_factory=list)  # (server, reason): listing or deleting failed

    def __str__(self) -> str:
        text = f"{len(self.reclaimed)} runspace pools reclaimed, {self.in_use} in use"
        return text + (f", {len(self.failed)} failures" if self.failed else "")


def process_gone(host: str, pid: int) -> bool:
    """True when `pid` surely no longer runs on this host (False when it runs, or cannot be told)."""
    if host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists under another user
        return False
    return False


def why_reclaim(shell: shells.ShellInfo, *, live: frozenset[str], me: shells.Owner,
                gone: Callable[[str, int], bool] = process_gone,
                stale_after: float = STALE_AFTER_SECONDS) -> str | None:
    """Why the console may delete `shell` now, or None when it must be left alone (pure but for `gone`)."""
    opened_by = shell.opened_by
    if opened_by is None or not shells.same_uri(shell.resource_uri, shells.EXCHANGE_URI):
        return None  # not the console's
    if opened_by == me:
        return None if shell.shell_id.upper() in live else "left by this process"
    if gone(opened_by.host, opened_by.pid):
        return f"its process {opened_by.pid} on {opened_by.host} is gone"
    if shell.inactivity is not None and shell.inactivity >= stale_after:
        return f"inactive for {shell.inactivity / 60:.0f} min"
    return None


def reclaim(settings: ConnectionSettings, servers: Iterable[str], *,
            stale_after: float = STALE_AFTER_SECONDS) -> ReclaimReport:
    """Delete the console's unused shells on each server (addresses); log each one in EasDisc.log."""
    report = ReclaimReport()
    seen: set[str] = set()
    for server in servers:
        if not server or server.lower() in seen:
            continue
        seen.add(server.lower())
        _reclaim_on(settings, server, report, stale_after)
    return report


def _reclaim_on(settings: ConnectionSettings, server: str, report: ReclaimReport, stale_after: float) -> None:
    wsman = None
    try:
        wsman = _WSMan(**close_options(settings, server))
        found = shells.list_shells(wsman, timeout=CLOSE_TIMEOUT_SECONDS - 2)
    except Exception as exc:
        reason = error_from_exception(exc, "", server).reason
        report.failed.append((server, reason))
        log.info("could not list the runspace pools on %s: %s", server, reason)
        if wsman is not None:
            wsman.close()
        return
    try:
        live, me = shells.live_shells(), shells.me()
        for shell in found:
            why = why_reclaim(shell, live=live, me=me, stale_after=stale_after)
            if why is None:
                report.in_use += shell.opened_by is not None
                continue
            _delete(wsman, server, shell, why, report)
    finally:
        wsman.close()


def _delete(wsman, server: str, shell: shells.ShellInfo, why: str, report: ReclaimReport) -> None:
    extra = {"server": server, "shell_id": shell.shell_id, "shell_name": shell.name, "reason": why}
    try:
        if shells.delete_shell(wsman, shell.shell_id, timeout=CLOSE_TIMEOUT_SECONDS - 2):
            report.reclaimed.append((server, shell.shell_id, why))
            easdisc.info("Reclaimed runspace pool %s on %s: %s", shell.shell_id, server, why, extra=extra)
    except Exception as exc:
        reason = error_from_exception(exc, "", server).reason
        report.failed.append((server, reason))
        easdisc.warning("Could not close runspace pool %s on %s: %s", shell.shell_id, server, reason,
                        extra={**extra, "reason": reason})
