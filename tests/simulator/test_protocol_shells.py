"""WSMan Enumerate and Delete of shells, as a client reclaiming runspace pools uses them (pypsrp 0.9.1)."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from pypsrp.exceptions import WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import NAMESPACES, SelectorSet

from easconsole.exchange.simulator import wsman as wsman_mod
from easconsole.exchange.simulator.testing import wait_until, wsman_for

from .conftest import ADMIN, OTHER

pytestmark = pytest.mark.simulator
EXCHANGE = "Microsoft.Exchange"


def enumerate_shells(wsman, resource_uri: str = wsman_mod.SHELL_URI) -> list[dict[str, str]]:
    body = ET.Element("{%s}Enumerate" % NAMESPACES["wsen"])
    ET.SubElement(body, "{%s}OptimizeEnumeration" % NAMESPACES["wsman"])
    ET.SubElement(body, "{%s}MaxElements" % NAMESPACES["wsman"]).text = "32000"
    response = wsman.enumerate(resource_uri, body)
    assert response.find("wsen:EnumerateResponse/wsman:EndOfSequence", NAMESPACES) is not None
    return [{child.tag.split("}")[1]: child.text or "" for child in shell}
            for shell in response.findall("wsen:EnumerateResponse/wsman:Items/rsp:Shell", NAMESPACES)]


def opened(wsman, name: str | None = None) -> RunspacePool:
    pool = RunspacePool(wsman, configuration_name=EXCHANGE)
    pool.shell.name = name
    pool.open()
    return pool


def test_enumerate_lists_the_accounts_shells_on_that_server_as_winrm_does(stub_sim, control):
    mine = opened(wsman_for(stub_sim, *ADMIN, server="EXCAS01", auth="ntlm"), name="EASConsole:host:1:abc")
    unnamed = opened(wsman_for(stub_sim, *ADMIN, server="EXCAS01"))
    elsewhere = opened(wsman_for(stub_sim, *ADMIN, server="EXCAS02"))
    theirs = opened(wsman_for(stub_sim, *OTHER, server="EXCAS01"))
    try:
        shells = enumerate_shells(wsman_for(stub_sim, *ADMIN, server="EXCAS01"))
        assert sorted(s["ShellId"] for s in shells) == sorted([mine.id, unnamed.id])
        first = next(s for s in shells if s["ShellId"] == mine.id)
        assert list(first) == ["ShellId", "Name", "ResourceUri", "Owner", "ClientIP", "IdleTimeOut", "InputStreams",
                               "OutputStreams", "State", "ShellRunTime", "ShellInactivity"]
        assert (first["Name"], first["Owner"], first["ClientIP"], first["State"]) == (
            "EASConsole:host:1:abc", ADMIN[0], "127.0.0.1", "Connected")
        assert first["ResourceUri"] == wsman_mod.EXCHANGE_RESOURCE_URI
        assert first["ShellInactivity"].startswith("P0DT0H0M") and first["IdleTimeOut"] == "PT7200.000S"
        assert "Name" not in next(s for s in shells if s["ShellId"] == unnamed.id)
        # The configuration's own resource URI lists the same shells.
        same = enumerate_shells(wsman_for(stub_sim, *ADMIN, server="EXCAS01"), wsman_mod.EXCHANGE_RESOURCE_URI)
        assert sorted(s["ShellId"] for s in same) == sorted([mine.id, unnamed.id])
    finally:
        for pool in (mine, unnamed, elsewhere, theirs):
            pool.close()


def test_inactivity_grows_while_idle_and_restarts_with_use(stub_sim):
    pool = opened(wsman_for(stub_sim, *ADMIN, server="EXCAS03"))
    observer = wsman_for(stub_sim, *ADMIN, server="EXCAS03")
    try:
        def inactivity() -> int:
            minutes, seconds = re.fullmatch(r"P0DT0H(\d+)M(\d+)S", enumerate_shells(observer)[0]["ShellInactivity"]).groups()
            return int(minutes) * 60 + int(seconds)

        wait_until(lambda: inactivity() >= 2, timeout=10)
        PowerShell(pool).add_cmdlet("Get-Thing").add_parameter("Count", 1).invoke()
        assert inactivity() < 2
    finally:
        pool.close()


def test_a_shell_is_deleted_from_another_connection(stub_sim, control):
    before = control.state()["open_pools"].get(ADMIN[0], 0)
    pool = opened(wsman_for(stub_sim, *ADMIN, server="EXCAS01", auth="ntlm"))
    assert control.state()["open_pools"][ADMIN[0]] == before + 1
    control.drop_connections("EXCAS01")  # the encrypted session cannot be used any more

    selectors = SelectorSet()
    selectors.add_option("ShellId", pool.id)
    fresh = wsman_for(stub_sim, *ADMIN, server="EXCAS01")
    fresh.delete(wsman_mod.EXCHANGE_RESOURCE_URI, selector_set=selectors)

    assert control.state()["open_pools"].get(ADMIN[0], 0) == before
    with pytest.raises(WSManFaultError) as caught:  # deleted already
        fresh.delete(wsman_mod.EXCHANGE_RESOURCE_URI, selector_set=selectors)
    assert caught.value.code == wsman_mod.SHELL_NOT_FOUND


def test_another_accounts_shell_cannot_be_deleted(stub_sim, control):
    pool = opened(wsman_for(stub_sim, *ADMIN, server="EXCAS01"))
    selectors = SelectorSet()
    selectors.add_option("ShellId", pool.id)
    try:
        with pytest.raises(WSManFaultError) as caught:
            wsman_for(stub_sim, *OTHER, server="EXCAS01").delete(wsman_mod.EXCHANGE_RESOURCE_URI, selector_set=selectors)
        assert caught.value.code == wsman_mod.SHELL_NOT_FOUND
        assert pool.id in [s["shell_id"].upper() for s in control.state()["shells"]]
    finally:
        pool.close()


def test_enumerating_another_resource_is_a_fault(stub_sim):
    with pytest.raises(WSManFaultError) as caught:
        enumerate_shells(wsman_for(stub_sim, *ADMIN), "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Service")
    assert caught.value.code == wsman_mod.INVALID_RESOURCE_URI
