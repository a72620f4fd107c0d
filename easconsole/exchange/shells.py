"""The console's runspace pools as WSMan shells on Exchange: their names, the ones this process is
using, and the two WSMan operations that find and close them from any connection.

Every pool the console opens carries a shell name (`rsp:Name`) that says which process opened it:
`EASConsole:<host>:<pid>:<token>`, the token being random per process. That lets the reclaim task
(`pools.py`) tell the console's shells from anyone else's, and this process's from another worker's.
Pure parts (`shell_name`, `parse_name`, `parse_shells`, `seconds`) have no I/O; `list_shells` and
`delete_shell` take a pypsrp WSMan (on any connection: a shell is named by its ShellId alone).
"""
from __future__ import annotations

import os
import re
import socket
import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from pypsrp.exceptions import WSManFaultError
from pypsrp.wsman import NAMESPACES, SelectorSet, WSMan

NAME_PREFIX = "EASConsole"
SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
EXCHANGE_URI = "http://schemas.microsoft.com/powershell/Microsoft.Exchange"
SHELL_NOT_FOUND = 0x8033805B  # the shell is gone already (server restarted, or closed by someone else)

_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


@dataclass(frozen=True)
class Owner:
    """Which process opened a console shell."""

    host: str
    pid: int
    token: str


@dataclass(frozen=True)
class ShellInfo:
    """One shell as WSMan Enumerate reports it."""

    shell_id: str
    name: str
    resource_uri: str
    owner: str  # the account (WinRM's Owner), not the process
    client_ip: str
    state: str
    inactivity: float | None  # seconds since the shell was last used (ShellInactivity)

    @property
    def opened_by(self) -> Owner | None:
        return parse_name(self.name)


# ---- this process ------------------------------------------------------------------------------------
class _Process:
    """This process's identity and the shells it is using; both start afresh in a forked child."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.lock = threading.Lock()  # a lock another thread held at the fork would never be released
        self.owner = Owner(socket.gethostname(), os.getpid(), uuid.uuid4().hex[:12])
        self.live: set[str] = set()


_process = _Process()
os.register_at_fork(after_in_child=_process.reset)  # django-q2 forks its workers


def me() -> Owner:
    return _process.owner


def shell_name() -> str:
    owner = _process.owner
    return f"{NAME_PREFIX}:{owner.host}:{owner.pid}:{owner.token}"


def parse_name(name: str) -> Owner | None:
    """The process that opened a console shell, or None for a shell that is not the console's."""
    parts = (name or "").split(":")
    if len(parts) != 4 or parts[0] != NAME_PREFIX or not parts[2].isdigit():
        return None
    return Owner(parts[1], int(parts[2]), parts[3])


def in_use(shell_id: str) -> None:
    """Mark a shell as used by this process (before it is created, so no reclaim can race its Create)."""
    with _process.lock:
        _process.live.add(shell_id.upper())


def released(shell_id: str) -> None:
    with _process.lock:
        _process.live.discard(shell_id.upper())


def live_shells() -> frozenset[str]:
    with _process.lock:
        return frozenset(_process.live)


# ---- WSMan -------------------------------------------------------------------------------------------
def seconds(duration: str | None) -> float | None:
    """Seconds of an xs:duration as WinRM writes them (P0DT1H2M3S, PT60.000S); None if unreadable."""
    match = _DURATION.match((duration or "").strip())
    if not match or not (duration or "").strip("P"):
        return None
    days, hours, minutes, secs = (float(g) if g else 0.0 for g in match.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + secs


def parse_shells(body: ET.Element) -> list[ShellInfo]:
    """The `rsp:Shell` items of an Enumerate response body."""
    def text(shell: ET.Element, tag: str) -> str:
        element = shell.find(f"rsp:{tag}", NAMESPACES)
        return (element.text or "").strip() if element is not None else ""

    items = body.findall("wsen:EnumerateResponse/wsman:Items/rsp:Shell", NAMESPACES)
    return [ShellInfo(shell_id=text(s, "ShellId").upper(), name=text(s, "Name"), resource_uri=text(s, "ResourceUri"),
                      owner=text(s, "Owner"), client_ip=text(s, "ClientIP"), state=text(s, "State"),
                      inactivity=seconds(text(s, "ShellInactivity")))
            for s in items]


def list_shells(wsman: WSMan, *, timeout: int | None = None) -> list[ShellInfo]:
    """Every shell the account holds on the server (WSMan Enumerate, built by pypsrp as its own
    `RunspacePool.get_runspace_pools` does, but keeping each shell's name and inactivity)."""
    enumerate_ = ET.Element("{%s}Enumerate" % NAMESPACES["wsen"])
    ET.SubElement(enumerate_, "{%s}OptimizeEnumeration" % NAMESPACES["wsman"])
    ET.SubElement(enumerate_, "{%s}MaxElements" % NAMESPACES["wsman"]).text = "32000"
    return parse_shells(wsman.enumerate(SHELL_URI, enumerate_, timeout=timeout))


def delete_shell(wsman: WSMan, shell_id: str, *, timeout: int | None = None) -> bool:
    """Close a runspace pool on the server (WSMan Delete). False if it was already gone."""
    selectors = SelectorSet()
    selectors.add_option("ShellId", shell_id)
    try:
        wsman.delete(EXCHANGE_URI, selector_set=selectors, timeout=timeout)
    except WSManFaultError as exc:
        if exc.code == SHELL_NOT_FOUND:
            return False
        raise
    return True


def same_uri(a: str, b: str) -> bool:
    return a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()
