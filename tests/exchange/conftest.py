"""Helpers for the gateway's tests: settings pointing at a simulated organization, and the call log."""
from __future__ import annotations

from typing import Any

from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT, ControlClient
from easconsole.exchange.values import ConnectionSettings


def settings_for(sim: Any, *, auth: str = "basic", account: tuple[str, str] = DEFAULT_ACCOUNT,
                 sites: dict[str, str] | None = None, **overrides: Any) -> ConnectionSettings:
    """Settings for the simulator: HQ -> EXCAS01 and Branch -> EXCAS03 unless `sites` (server names) say otherwise."""
    names = sites or {"HQ": "EXCAS01", "Branch": "EXCAS03"}
    return ConnectionSettings(
        sites={site: sim.server_address(name) for site, name in names.items()}, port=sim.port, auth=auth,
        username=account[0], password=account[1], **overrides)


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
