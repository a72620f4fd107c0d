"""Fixtures for the simulator's protocol tests.

The protocol layer is tested against `StubOrganization`, a tiny engine written to the contract in
`organization.py`'s docstring, so these tests do not depend on cmdlet semantics. The engine's real
cmdlets are exercised through pypsrp in `test_pypsrp_cmdlets.py`.
"""
from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any, Iterator

import pytest

from easconsole.exchange.simulator.runner import SimulatedExchange
from easconsole.exchange.simulator.testing import ControlClient, running_simulator
from easconsole.exchange.simulator.types import (
    CmdletError,
    CommandCall,
    EnumValue,
    ErrorCategory,
    ErrorInfo,
    ExchangeServer,
    NonTerminatingError,
    Record,
    Warning,
)

ADMIN = ("CONTOSO\\easadmin", "P@ss:w0rd é")  # a colon and non-ASCII: Basic and NTLM must both cope
OTHER = ("CONTOSO\\other", "Other-Pass1")
DEVICE_TYPE = "Microsoft.Exchange.Data.Directory.Management.MobileDevice"
ACCESS_STATE = "Microsoft.Exchange.Data.Directory.SystemConfiguration.DeviceAccessState"


def not_found(name: str) -> CmdletError:
    return CmdletError(ErrorInfo(
        message=f"The term '{name}' is not recognized as the name of a cmdlet, function, script file, or operable program.",
        exception_type="System.Management.Automation.CommandNotFoundException",
        fq_error_id="CommandNotFoundException", category=ErrorCategory.ObjectNotFound, target=name,
    ))


def device(i: int, small: bool = False) -> Record:
    if small:
        return Record((DEVICE_TYPE,), {"Name": f"dev{i}", "Index": i, "Allowed": True}, f"dev{i}")
    return Record(
        (DEVICE_TYPE, "Microsoft.Exchange.Data.Directory.ADObject"),
        {
            "Name": f"dev{i}", "Index": i, "Big": 2**40 + i, "Ok": i % 2 == 0, "Ratio": 0.25,
            "When": dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=dt.timezone.utc),
            "Span": dt.timedelta(hours=1, seconds=3, microseconds=500000), "Guid": uuid.UUID(int=i + 1),
            "Nothing": None, "Tricky": "a<b&c>\r\n\t_x0041_\x01é§",
            "State": EnumValue(ACCESS_STATE, "Allowed", 1),
            "Reason": EnumValue(ACCESS_STATE + "Reason", "Global", 1),
            "State2": EnumValue(ACCESS_STATE, "Blocked", 2),
            "List": ["x", "y"], "Empty": [],
        },
        f"dev{i}",
    )


class StubSession:
    COMMANDS = ["Get-Thing", "Get-ExchangeServer", "Fail-Thing", "Mixed-Thing", "Select-Thing"]

    def __init__(self, org: "StubOrganization", account: str, server: ExchangeServer) -> None:
        self.org, self.account, self.server = org, account, server
        self.closed = False
        self.yielded = 0  # how far the protocol layer has pulled the last pipeline

    def commands(self) -> list[str]:
        return [c for c in self.COMMANDS if c.lower() not in self.org.denied.get(self.account, set())]

    def run(self, commands: list[CommandCall]) -> Iterator[Any]:
        call = commands[0]
        params = {k: v for k, v in call.parameters}
        self.org.calls.append({"cmdlet": call.name, "account": self.account, "server": self.server.name,
                               "parameters": {k: repr(v) for k, v in params.items()}})
        if call.name not in self.commands():
            raise not_found(call.name)
        if call.name == "Fail-Thing":
            raise CmdletError(ErrorInfo(
                message="The operation couldn't be performed because object 'nope' couldn't be found.",
                exception_type="Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
                fq_error_id="[Server=EXCAS01] 6A2C1E33,Microsoft.Exchange.Management.Tasks.GetMobileDevice",
                category=ErrorCategory.ObjectNotFound, target="nope", activity="Get-Thing",
            ))
        if call.name == "Get-ExchangeServer":
            for s in self.org.servers:
                yield Record(("Microsoft.Exchange.Data.Directory.Management.ExchangeServer",),
                             {"Name": s.name, "Fqdn": s.fqdn, "Site": s.site}, s.name)
            return
        if call.name == "Mixed-Thing":
            yield Warning("The cmdlet is deprecated.")
            yield NonTerminatingError(ErrorInfo(message="'x' couldn't be found.", exception_type="System.Exception",
                                                fq_error_id="NF", category=ErrorCategory.ObjectNotFound, target="x"))
        if call.name == "Select-Thing":
            yield Record(("System.Management.Automation.PSCustomObject",), {"Name": "sel", "Count": 2})
            return
        delay = float(params.get("Delay", 0))
        small = bool(params.get("Small", False))
        for i in range(int(params.get("Count", 3))):
            if delay:
                time.sleep(delay)
            self.yielded = i + 1
            yield device(i, small)

    def close(self) -> None:
        self.closed = True


class StubOrganization:
    """Implements the engine contract with four servers, two accounts and a handful of fake cmdlets."""

    max_sessions_per_account = 18

    def __init__(self) -> None:
        self.name, self.domain = "Contoso", "contoso.com"
        self.servers = [
            ExchangeServer("EXCAS01", "", ("ClientAccess",), "contoso.com/Configuration/Sites/HQ", "HQ"),
            ExchangeServer("EXCAS02", "", ("ClientAccess",), "contoso.com/Configuration/Sites/HQ", "HQ"),
            ExchangeServer("EXCAS03", "", ("ClientAccess",), "contoso.com/Configuration/Sites/Branch", "Branch"),
            ExchangeServer("EXMBX01", "", ("Mailbox",), "contoso.com/Configuration/Sites/HQ", "HQ"),
        ]
        self.accounts = dict([ADMIN, OTHER])
        self.denied: dict[str, set[str]] = {}
        self.calls: list[dict[str, Any]] = []
        self.budgets: dict[str, tuple[int, int]] = {}
        self.sessions: list[StubSession] = []

    def canonical_account(self, account: str) -> str | None:
        wanted = account.lower()
        for name in self.accounts:
            if wanted in (name.lower(), name.split("\\")[-1].lower(), name.split("\\")[-1].lower() + "@contoso.com"):
                return name
        return None

    def check_password(self, account: str, password: str) -> bool:
        name = self.canonical_account(account)
        return name is not None and self.accounts[name] == password

    def password_for(self, account: str) -> str | None:
        name = self.canonical_account(account)
        return self.accounts[name] if name else None

    def open_session(self, account: str, server: ExchangeServer) -> StubSession:
        session = StubSession(self, account, server)
        self.sessions.append(session)
        return session

    def snapshot(self) -> dict[str, Any]:
        return {"name": self.name, "devices": 3, "when": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)}

    def call_log(self, since: int = 0) -> list[dict[str, Any]]:
        return self.calls[since:]

    def deny_cmdlets(self, account: str, cmdlets: list[str]) -> None:
        self.denied.setdefault(account, set()).update(c.lower() for c in cmdlets)

    def grant_cmdlets(self, account: str, cmdlets: list[str]) -> None:
        self.denied.setdefault(account, set()).difference_update(c.lower() for c in cmdlets)

    def set_cmdlet_budget(self, account: str, max_cmdlets: int, period_seconds: int = 60) -> None:
        self.budgets[account] = (max_cmdlets, period_seconds)

    def sync_device(self, device_id: str) -> dict[str, Any]:
        if device_id != "dev1":
            raise KeyError(f"no device {device_id}")
        return {"device": device_id, "synced": True}

    def sync_all(self) -> int:
        return 3

    def add_user(self, **fields: Any) -> dict[str, Any]:
        if "name" not in fields:
            raise ValueError("name is required")
        return fields

    def remove_user(self, identity: str) -> None:
        if identity != "jdoe":
            raise KeyError(identity)

    def add_device(self, user: str, **fields: Any) -> dict[str, Any]:
        return {"user": user, **fields}

    def remove_device(self, identity: str) -> None:
        if identity != "dev1":
            raise KeyError(identity)

    def change_device(self, identity: str, **fields: Any) -> dict[str, Any]:
        return {"identity": identity, **fields}

    def reset(self) -> None:
        self.calls.clear()
        self.denied.clear()

    def save(self, path: str) -> None:
        import json

        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"calls": len(self.calls), "denied": {k: sorted(v) for k, v in self.denied.items()}}, handle)

    @classmethod
    def load(cls, path: str) -> "StubOrganization":
        import json

        org = cls()
        with open(path, encoding="utf-8") as handle:
            org.denied = {k: set(v) for k, v in json.load(handle)["denied"].items()}
        return org


@pytest.fixture(scope="module")
def stub_sim() -> Iterator[SimulatedExchange]:
    with running_simulator(StubOrganization()) as sim:
        yield sim


@pytest.fixture
def control(stub_sim: SimulatedExchange) -> Iterator[ControlClient]:
    client = ControlClient.for_simulator(stub_sim)
    yield client
    client.close()


# ---- engine fixtures: the real organization and its cmdlets, in-process (no network) ----------------
from easconsole.exchange.simulator.organization import Organization  # noqa: E402

ENGINE_NOW = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.timezone.utc)
ENGINE_ACCOUNT = "CONTOSO\\svc-easconsole"


class EngineResult:
    """What one pipeline wrote: output records, warnings and non-terminating errors."""

    def __init__(self, items: list[Any]) -> None:
        self.records = [i for i in items if isinstance(i, Record)]
        self.warnings = [i.message for i in items if isinstance(i, Warning)]
        self.errors = [i.info for i in items if isinstance(i, NonTerminatingError)]

    @property
    def props(self) -> list[dict[str, Any]]:
        return [r.properties for r in self.records]

    def values(self, name: str) -> list[Any]:
        return [getattr(r.properties[name], "name", r.properties[name]) for r in self.records]


class EngineShell:
    """A session on the organization with a terse way to run cmdlets and pipelines."""

    def __init__(self, org: Organization, account: str = ENGINE_ACCOUNT, server: ExchangeServer | None = None):
        self.org = org
        self.session = org.open_session(account, server or org.servers[0])

    def run(self, name: str, *positional: Any, **params: Any) -> EngineResult:
        return self.pipe((name, positional, params))

    def pipe(self, *commands: tuple) -> EngineResult:
        calls = []
        for command in commands:
            name, positional, params = (command + ((), {}))[:3] if len(command) < 3 else command
            if isinstance(positional, dict):
                positional, params = (), positional
            parameters = [(None, v) for v in positional] + list(params.items())
            calls.append(CommandCall(name, parameters))
        return EngineResult(list(self.session.run(calls)))


@pytest.fixture
def org() -> Organization:
    return Organization.generate(seed=7, devices=60, now=ENGINE_NOW)


@pytest.fixture
def sh(org: Organization) -> EngineShell:
    return EngineShell(org)
