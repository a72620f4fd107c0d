"""The Operations Administrator wipes, cancels, blocks and allows devices in the console: real worker, simulator."""
import re

import pytest
from playwright.sync_api import expect

from devices.actions import services
from devices.models import DeviceAction
from easconsole.exchange.simulator.testing import ControlClient, running_simulator, wait_until
from tests.browser.conftest import sign_in
from tests.console import discovered, installed_connector
from tests.personas import PASSWORD, make_persona

pytestmark = [pytest.mark.browser, pytest.mark.simulator, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=30) as sim:
        yield sim


def request(page, device, label, reason: str = "", screenshot=None):
    """Open the device, pick the action in the action bar, give the reason, confirm it."""
    page.goto(f"/assets/devices/{device.pk}/")
    page.locator(".console-ribbon").get_by_role("link", name=label, exact=True).click()
    expect(page.get_by_test_id("consequence")).to_contain_text(device.name)
    page.get_by_label("Reason or ticket number (optional)").fill(reason)
    if screenshot:
        screenshot(page, f"device-{label.lower()}-confirmation")
    page.get_by_test_id("confirm").click()
    expect(page.get_by_role("alert").first).to_contain_text("requested for")


def state_of(device, kind):
    return DeviceAction.objects.filter(device=device, kind=kind).latest("requested_at").state


def test_operator_wipes_cancels_blocks_and_allows(page, qcluster, exchange, screenshot):
    control = ControlClient.for_simulator(exchange)
    start = (control.calls() or [{"seq": 0}])[-1]["seq"]
    devices = [d for d in discovered(installed_connector(exchange)) if d.status == "DeviceOk"]
    wiped, cancelled, blocked = devices[:3]
    make_persona("operator")
    sign_in(page, "operator", PASSWORD)

    # Wipe: exactly Clear-ActiveSyncDevice -Identity <device> -Confirm:$false reaches Exchange.
    request(page, wiped, "Wipe", reason="INC0042 phone lost in a taxi", screenshot=screenshot)
    assert DeviceAction.objects.get(device=wiped, kind="wipe").reason == "INC0042 phone lost in a taxi"
    wait_until(lambda: state_of(wiped, "wipe") in ("sent", "pending"), timeout=30, interval=0.2,
               message="the worker sent the wipe")
    [call] = [c for c in control.calls(start) if c["cmdlet"] == "Clear-ActiveSyncDevice"]
    # The device's user hears of the wipe from Exchange too (discovery stored their address).
    assert call["parameters"] == {"Identity": wiped.identity, "Confirm": False,
                                  "NotificationEmailAddresses": [wiped.user_primary_smtp_address]}
    control.sync_device(wiped.device_id)
    # The worker's watcher reads the statistics of open wipes every few seconds:
    wait_until(lambda: state_of(wiped, "wipe") == "acknowledged", timeout=30, interval=0.2,
               message="the acknowledgement reached the console")
    page.goto(f"/assets/devices/{wiped.pk}/")
    history = page.locator("#history-title").locator("..")
    expect(history).to_contain_text("Acknowledged")
    audit = page.get_by_test_id("device-audit")
    for step in ("request wipe", "wipe sent to exchange", "wipe acknowledged"):
        expect(audit).to_contain_text(step)
    screenshot(page, "device-wipe-acknowledged")

    # Cancel before the device syncs.
    request(page, cancelled, "Wipe")
    wait_until(lambda: state_of(cancelled, "wipe") in ("sent", "pending"), timeout=30, interval=0.2,
               message="the worker sent the wipe")
    request(page, cancelled, "Cancel wipe")
    wait_until(lambda: state_of(cancelled, "wipe") == "cancelled", timeout=30, interval=0.2, message="the wipe was cancelled")
    assert any(c["cmdlet"] == "Clear-ActiveSyncDevice" and c["parameters"].get("Cancel") is True
               and c["parameters"]["Identity"] == cancelled.identity for c in control.calls(start))
    page.goto(f"/assets/devices/{cancelled.pk}/")
    expect(page.get_by_test_id("device-audit")).to_contain_text("cancel_wipe done")
    screenshot(page, "device-wipe-cancelled")

    # Block, then allow: the access state changes in Exchange, then in the console.
    for label, expected in (("Block", "Blocked"), ("Allow", "Allowed")):
        request(page, blocked, label)
        wait_until(lambda: state_of(blocked, label.lower()) == "done", timeout=30, interval=0.2, message=f"{label} was sent")
        with services.connector_gateway(blocked.connector) as gateway:
            assert gateway.device_statistics(blocked.identity).device_access_state == expected
        page.goto(f"/assets/devices/{blocked.pk}/")
        expect(page.locator("main")).to_contain_text(re.compile(rf"Access state\s*{expected}"))
    screenshot(page, "device-allowed")


def test_operator_blocks_ticked_devices_from_the_list(page, qcluster, exchange, screenshot):
    devices = discovered(installed_connector(exchange))[:3]
    make_persona("operator")
    sign_in(page, "operator", PASSWORD)
    page.goto("/assets/devices/")
    for device in devices[:2]:
        page.locator(f'input[name="device"][value="{device.pk}"]').check()
    page.locator("#bulk-form").get_by_role("button", name="Block", exact=True).click()
    expect(page.get_by_test_id("bulk-allowed")).to_contain_text(devices[0].name)
    screenshot(page, "devices-bulk-confirmation")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("alert").first).to_contain_text("Block requested for 2 device(s)")
    wait_until(lambda: DeviceAction.objects.filter(kind="block", state="done").count() == 2, timeout=30, interval=0.2,
               message="both blocks reached Exchange")
