"""`manage.py exchange_simulator`: option parsing and a real start/stop with the stub engine."""
from __future__ import annotations

import io
import threading

import pytest
from django.core.management.base import CommandError
from pypsrp.powershell import PowerShell, RunspacePool

from easconsole.exchange.simulator.testing import ControlClient, wait_until, wsman_for
from easconsole.management.commands import exchange_simulator
from easconsole.management.commands.exchange_simulator import Command, parse_accounts, parse_auth

from .conftest import ADMIN, StubOrganization

pytestmark = pytest.mark.simulator


def test_parse_accounts_and_auth():
    assert parse_accounts(["CONTOSO\\a:p:w:d", "b@contoso.com:x"]) == {"CONTOSO\\a": "p:w:d", "b@contoso.com": "x"}
    assert parse_accounts(None) == {"CONTOSO\\easadmin": "Sim-P@ssw0rd-1"}
    with pytest.raises(CommandError):
        parse_accounts(["nopassword"])
    assert parse_auth("basic, NTLM") == ("basic", "ntlm")
    with pytest.raises(CommandError):
        parse_auth("kerberos")


def test_command_runs_until_stopped(monkeypatch):
    seen = {}

    def make_organization(options, accounts):
        seen.update(options=options, accounts=accounts)
        return StubOrganization()

    monkeypatch.setattr(Command, "make_organization", staticmethod(make_organization))
    out = io.StringIO()
    command = Command(stdout=out)
    parser = command.create_parser("manage.py", "exchange_simulator")
    options = vars(parser.parse_args(["--account", f"{ADMIN[0]}:{ADMIN[1]}", "--devices", "7", "--auth", "basic",
                                      "--bind-base", "127.0.0.31"]))
    thread = threading.Thread(target=lambda: command.execute(**options), daemon=True)
    thread.start()
    try:
        wait_until(lambda: "Control API" in out.getvalue(), timeout=10)
        text = out.getvalue()
        assert "EXCAS01" in text and "127.0.0.31" in text and ADMIN[0] in text and "token:" in text
        sim = command.simulator
        assert seen["options"]["devices"] == 7 and seen["accounts"] == {ADMIN[0]: ADMIN[1]}
        assert sim.auth == ("basic",)
        with RunspacePool(wsman_for(sim, *ADMIN), configuration_name="Microsoft.Exchange") as pool:
            assert len(PowerShell(pool).add_cmdlet("Get-Thing").invoke()) == 3
        assert ControlClient.for_simulator(sim).state()["servers"][0]["address"] == "127.0.0.31"
    finally:
        command.stop_event.set()
        thread.join(10)
    assert not thread.is_alive() and "stopped" in out.getvalue()
    assert exchange_simulator.DEFAULT_ACCOUNT.startswith("CONTOSO\\")


def test_command_loads_a_saved_state_without_generating_it(monkeypatch, tmp_path):
    path = str(tmp_path / "org.json")
    saved = StubOrganization()
    saved.deny_cmdlets(ADMIN[0], ["Fail-Thing"])
    saved.save(path)
    seen = {}

    def make_organization(options, accounts):
        seen["devices"] = options["devices"]
        return StubOrganization()

    monkeypatch.setattr(Command, "make_organization", staticmethod(make_organization))
    out = io.StringIO()
    command = Command(stdout=out)
    options = vars(command.create_parser("manage.py", "exchange_simulator").parse_args(
        ["--state-file", path, "--devices", "5000", "--bind-base", "127.0.0.36"]))
    thread = threading.Thread(target=lambda: command.execute(**options), daemon=True)
    thread.start()
    try:
        wait_until(lambda: "Control API" in out.getvalue(), timeout=10)
        assert seen["devices"] == 0 and "Loaded the organization saved in" in out.getvalue()
        assert command.simulator.org.denied == {ADMIN[0]: {"fail-thing"}}
    finally:
        command.stop_event.set()
        thread.join(10)
