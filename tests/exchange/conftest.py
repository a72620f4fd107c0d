"""Helpers for the gateway's tests: settings pointing at a simulated organization, and the call log."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT, ControlClient
from easconsole.exchange.values import ConnectionSettings


def settings_for(sim: Any, *, auth: str = "basic", account: tuple[str, str] = DEFAULT_ACCOUNT,
                 sites: dict[str, str] | None = None, **overrides: Any) -> ConnectionSettings:
    """Settings for the simulator: HQ -> EXCAS01 and Branch -> EXCAS03 unless `sites` (server names) say otherwise."""
    names = sites or {"HQ": "EXCAS01", "Branch": "EXCAS03"}
    return ConnectionSettings(
        sites={site: sim.server_address(name) for site, name in names.items()}, port=sim.port, auth=auth,
        username=account[0], password=account[1], **overrides)


ROOT = Path(__file__).resolve().parents[2]
_HOLD_A_POOL = """
import json, sys
from easconsole.exchange.transport import Session
from easconsole.exchange.values import ConnectionSettings
job = json.loads(sys.stdin.readline())
session = Session(ConnectionSettings(**job["settings"]), job["server"]).open()
print(session.pool.id, flush=True)
sys.stdin.readline()  # holds the pool until killed
"""


@contextlib.contextmanager
def console_process_holding_a_pool(sim: Any, server: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """Another console process (a worker) that opened a pool on `server` through the product's Session
    and holds it; yields (the process, the pool's shell id). Kill it to leave the pool behind."""
    settings = settings_for(sim, sites={"HQ": server})
    job = {"settings": {"sites": settings.sites, "port": settings.port, "auth": "basic",
                        "username": settings.username, "password": settings.password},
           "server": sim.server_address(server)}
    process = subprocess.Popen([sys.executable, "-c", _HOLD_A_POOL], cwd=ROOT, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        process.stdin.write(json.dumps(job) + "\n")
        process.stdin.flush()
        shell_id = process.stdout.readline().strip()
        assert shell_id, "the process could not open a pool"
        yield process, shell_id
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        process.stdin.close()
        process.stdout.close()


class CallLog:
    """The simulator's call log since a mark."""

    def __init__(self, control: ControlClient) -> None:
        self.control = control
        self.seq = 0

    def mark(self) -> None:
        calls = self.control.calls(self.seq)
        if calls:
            self.seq = calls[-1]["seq"]

    def since(self, *, skip_session_setup: bool = True) -> list[dict[str, Any]]:
        calls = self.control.calls(self.seq)
        if skip_session_setup:
            calls = [c for c in calls if c["cmdlet"] not in ("Set-ADServerSettings", "Get-ExchangeServer")]
        return calls

    def only(self, cmdlet: str) -> dict[str, Any]:
        """The one call of `cmdlet` since the mark (asserts there was exactly one)."""
        found = [c for c in self.since() if c["cmdlet"] == cmdlet]
        assert len(found) == 1, [c["cmdlet"] for c in self.since()]
        return found[0]
