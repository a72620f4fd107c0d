"""An end user on a phone wipes a lost device, watches the wipe reach it, and cancels another: real worker, simulator."""
import re

import pytest
from playwright.sync_api import expect

from devices.models import UserDeviceAffinity
from easconsole.exchange.simulator.testing import ControlClient, running_simulator, wait_until
from tests.browser.conftest import sign_in
from tests.console import discovered, installed_connector
from tests.personas import PASSWORD, make_persona

pytestmark = [pytest.mark.browser, pytest.mark.simulator, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=30) as sim:
        yield sim


def test_end_user_wipes_a_lost_phone_and_cancels_another_wipe(phone, qcluster, exchange, screenshot):
    control = ControlClient.for_simulator(exchange)
    user = make_persona("end_user")
    devices = [d for d in discovered(installed_connector(exchange)) if d.status == "DeviceOk"][:2]
    lost, kept = devices
    for device in devices:
        UserDeviceAffinity.objects.create(device=device, user=user, source="automatic")

    sign_in(phone, "end_user", PASSWORD)
    cards = phone.get_by_test_id("device")
    expect(cards).to_have_count(2)
    screenshot(phone, "catalog-my-devices")

    # Wipe the lost one: the page says what happens, asks for an explicit confirmation.
    phone.locator(f"#device-{lost.pk}").get_by_role("link", name="Wipe this device").click()
    expect(phone.get_by_test_id("full-consequence")).to_contain_text("everything on it is erased")
    screenshot(phone, "catalog-wipe-confirmation")
    phone.get_by_role("button", name="Wipe the device").click()
    expect(phone.get_by_role("alert")).to_contain_text("Tick the box")
    phone.get_by_label("I understand").check()
    phone.get_by_role("button", name="Wipe the device").click()
    card = phone.locator(f"#device-{lost.pk}")
    wait_until(lambda: any(c["cmdlet"] == "Clear-ActiveSyncDevice" and c["parameters"]["Identity"] == lost.identity
                           for c in control.calls()), timeout=20, message="the wipe reached Exchange")

    # The worker's watcher reads Exchange's statistics of open wipes every few seconds.
    expect(card.get_by_test_id("wipe-state")).to_contain_text("Pending on device", timeout=20_000)
    screenshot(phone, "catalog-wipe-pending")
    control.sync_device(lost.device_id)
    expect(card.get_by_test_id("wipe-state")).to_contain_text("Acknowledged", timeout=20_000)
    screenshot(phone, "catalog-wipe-acknowledged")

    # The other one: wipe, then think better of it before it syncs.
    phone.locator(f"#device-{kept.pk}").get_by_role("link", name="Wipe this device").click()
    phone.get_by_label("I understand").check()
    phone.get_by_role("button", name="Wipe the device").click()
    other = phone.locator(f"#device-{kept.pk}")
    expect(other.get_by_test_id("wipe-state")).to_contain_text(re.compile("Sent to Exchange|Pending on device"),
                                                                timeout=20_000)
    other.get_by_role("button", name="Cancel wipe").click()
    expect(other.get_by_test_id("wipe-state")).to_contain_text("Cancelled", timeout=20_000)
    screenshot(phone, "catalog-wipe-cancelled")
    assert any(c["cmdlet"] == "Clear-ActiveSyncDevice" and c["parameters"].get("Cancel") for c in control.calls())
