"""One device (or mailbox) with characters the database cannot take never fails a discovery.

Through the product's pypsrp transport against the simulator, on SQLite and on PostgreSQL (which
refuses NUL in text): the odd values are stored with those characters replaced or removed, EasDisc.log
names the device and the property, and every other device is stored as usual.
"""
import pytest

from devices import discovery
from devices.models import Device, DiscoveryRun
from easconsole import logs
from easconsole.exchange.simulator.testing import running_simulator
from tests.console import installed_connector, new_run

pytestmark = [pytest.mark.django_db, pytest.mark.simulator]

# Characters a database can store are kept as they came: emoji, CJK, right-to-left, even a bidi override.
KEPT = "😀 山田 עברית \u202egnp"


@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=25, seed=11) as sim:
        yield sim


@pytest.fixture
def control(control):
    yield control
    control.reset()


def warnings_about(text):
    return [line.message for line in logs.tail("EasDisc.log", min_severity=2, text=text)]


def test_full_and_delta_discovery_store_odd_devices_cleaned_and_say_which(exchange, control):
    connector = installed_connector(exchange, install=False)
    surrogate, nul, later = (d["identity"] for d in control.devices(limit=3)["devices"])
    control.change_device(surrogate, FriendlyName=f"Anna\ud800s phone {KEPT}", DeviceUserAgent="Apple-iPhone\udc00/1")
    control.change_device(nul, DeviceUserAgent="Android\x00/14", FriendlyName=f"Tab\tlet\x00 {KEPT}")
    control.add_user(alias="znull", name="Zoe\x00 Null\ud800")  # the mailbox's own names are odd too
    owned = control.add_device("znull", device_type="Android", FriendlyName="Zoe's")["identity"]
    total = control.devices(limit=1)["total"]

    run = discovery.full_discovery(new_run(connector))

    assert run.state == DiscoveryRun.State.SUCCEEDED, run.error
    assert run.devices_seen == run.devices_added == total
    assert Device.objects.filter(connector=connector).count() == total
    rows = {d.identity: d for d in Device.objects.filter(connector=connector)}
    assert rows[surrogate].friendly_name == f"Anna\ufffds phone {KEPT}"
    assert rows[surrogate].device_user_agent == "Apple-iPhone\ufffd/1"
    assert rows[nul].device_user_agent == "Android/14" and rows[nul].friendly_name == f"Tab let {KEPT}"
    zoe = rows[owned]  # found its mailbox although both sides had a NUL and a lone surrogate
    assert (zoe.user_display_name, zoe.user_principal_name, zoe.name) == ("Zoe Null\ufffd", "znull@contoso.com",
                                                                          "znull_Android")
    [line] = warnings_about(surrogate)
    assert "FriendlyName: U+D800 replaced with U+FFFD" in line and "DeviceUserAgent: U+DC00 replaced" in line
    [line] = warnings_about(nul)
    assert "DeviceUserAgent: U+0000 removed" in line and "U+0009 replaced with a space" in line
    [line] = warnings_about("Zoe Null\ufffd has characters")
    assert line.startswith("Mailbox contoso.com/Users/") and "DisplayName: U+0000 removed, U+D800 replaced" in line

    control.change_device(later, DeviceOS="iOS\x0018\ud83d")
    run = discovery.delta_discovery(new_run(connector, "delta"))

    assert run.state == DiscoveryRun.State.SUCCEEDED and run.kind == "delta", run.error
    assert Device.objects.get(connector=connector, identity=later).device_os == "iOS18\ufffd"
    assert Device.objects.filter(connector=connector, missing_since__isnull=True).count() == total
    [line] = warnings_about(later)
    assert "DeviceOS: U+0000 removed, U+D83D replaced with U+FFFD" in line
