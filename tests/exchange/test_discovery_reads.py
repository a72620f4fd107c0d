"""The gateway's reads for discovery, through pypsrp against the simulator: mailboxes with their UPN,
the cheap Guid/WhenChanged listing, and organizational-unit scope."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from easconsole.exchange import parsing
from easconsole.exchange.errors import ExchangeObjectNotFound
from easconsole.exchange.gateway import PsrpGateway
from easconsole.exchange.simulator.testing import ControlClient, running_simulator

from .conftest import CallLog, settings_for

pytestmark = pytest.mark.simulator


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    with running_simulator(devices=40, seed=3) as running:
        yield running


@pytest.fixture(scope="module")
def gateway(sim: Any) -> Iterator[PsrpGateway]:
    with PsrpGateway(settings_for(sim)) as opened:
        yield opened


@pytest.fixture
def log(sim: Any) -> Iterator[CallLog]:
    control = ControlClient.for_simulator(sim)
    calls = CallLog(control)
    calls.mark()
    yield calls
    control.close()


def test_mailboxes_bring_the_user_principal_name(gateway: PsrpGateway, log: CallLog) -> None:
    mailboxes = list(gateway.mailboxes())
    assert mailboxes and all(m.user_principal_name and m.sam_account_name and m.primary_smtp_address and m.identity
                             for m in mailboxes)
    assert log.only("Get-Mailbox")["parameters"] == {"ResultSize": "Unlimited"}
    selected = [c for c in log.since() if c["cmdlet"] == "Select-Object"][0]["parameters"]["Property"]
    assert "UserPrincipalName" in selected and "SamAccountName" in selected


def test_one_mailbox_by_identity(gateway: PsrpGateway, log: CallLog) -> None:
    alias = next(iter(gateway.mailboxes())).alias
    log.mark()
    (mailbox,) = gateway.mailboxes(identity=alias)
    assert mailbox.alias == alias
    assert log.only("Get-Mailbox")["parameters"]["Identity"] == alias
    with pytest.raises(ExchangeObjectNotFound):
        list(gateway.mailboxes(identity="nobody-here"))
    with pytest.raises(ValueError):
        list(gateway.mailboxes(identity=" "))  # an empty -Identity would match every mailbox


def test_device_versions_list_every_guid_cheaply(gateway: PsrpGateway, log: CallLog) -> None:
    devices = {d.guid: d.when_changed for d in gateway.devices()}
    log.mark()
    assert dict(gateway.device_versions()) == devices
    assert log.only("Get-ActiveSyncDevice")["parameters"] == {"ResultSize": "Unlimited"}


def test_organizational_unit_scopes_devices_and_mailboxes(gateway: PsrpGateway, log: CallLog) -> None:
    everyone = list(gateway.devices_with_statistics())
    hq = list(gateway.devices_with_statistics(organizational_unit="contoso.com/Users/HQ"))
    assert 0 < len(hq) < len(everyone)
    assert all(stats is not None and stats.guid == device.guid for device, stats in hq)
    assert {g for g, _ in gateway.device_versions(organizational_unit="contoso.com/Users/HQ")} == {d.guid for d, _ in hq}
    assert 0 < len(list(gateway.mailboxes(organizational_unit="contoso.com/Users/HQ"))) < len(list(gateway.mailboxes()))


def test_statistics_can_be_narrowed_to_what_is_kept(gateway: PsrpGateway, log: CallLog) -> None:
    full = {d.guid: s for d, s in gateway.devices_with_statistics()}
    log.mark()
    narrow = list(gateway.devices_with_statistics(statistics_properties=["LastSuccessSync", "Status"]))
    assert narrow and all(s is not None and s.guid == d.guid for d, s in narrow)  # Guid and Identity added for the join
    assert all(s.last_success_sync == full[d.guid].last_success_sync and s.status == full[d.guid].status
               and s.device_model is None for d, s in narrow)
    selected = [c["parameters"]["Property"] for c in log.since() if c["cmdlet"] == "Select-Object"]
    assert sorted(selected) == sorted([["LastSuccessSync", "Status", "Guid", "Identity"], list(parsing.DEVICE_PROPERTIES)])


def test_devices_read_with_their_statistics_are_the_devices_exchange_has(gateway: PsrpGateway, log: CallLog) -> None:
    """The device pipeline selects only the properties a DeviceRecord is made of: the records are the same."""
    log.mark()
    assert [device for device, _ in gateway.devices_with_statistics()] == list(gateway.devices())
    device_pipelines = [c for c in log.since() if c["cmdlet"] == "Select-Object"
                        and c["parameters"]["Property"] == list(parsing.DEVICE_PROPERTIES)]
    assert len(device_pipelines) == 1
