"""An Operations Administrator offboards a leaver in the console: real worker, simulator, to acknowledgement."""
from collections import Counter

import pytest
from playwright.sync_api import expect

from devices.models import Offboarding
from easconsole.exchange.simulator.testing import ControlClient, running_simulator
from tests.browser.conftest import sign_in
from tests.console import discovered, installed_connector
from tests.personas import PASSWORD, make_persona

pytestmark = [pytest.mark.browser, pytest.mark.simulator, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=40) as sim:
        yield sim


def test_operator_offboards_a_leaver_to_acknowledgement(page, phone, qcluster, exchange, screenshot):
    control = ControlClient.for_simulator(exchange)
    start = (control.calls() or [{"seq": 0}])[-1]["seq"]
    devices = discovered(installed_connector(exchange))
    counts = Counter(d.mailbox for d in devices if d.status == "DeviceOk" and d.is_remote_wipe_supported is not False)
    mailbox = next(m for m, n in counts.most_common() if n >= 2)
    mine = [d for d in devices if d.mailbox == mailbox]
    make_persona("operator")
    sign_in(page, "operator", PASSWORD)

    page.goto("/assets/devices/")
    page.get_by_role("link", name="Offboarding", exact=True).click()
    page.get_by_role("link", name="Offboard a user").click()
    page.get_by_label("The leaver's name, user principal name or address").fill(mine[0].user_principal_name)
    page.get_by_role("button", name="Find").click()
    screenshot(page, "offboarding-search")
    page.get_by_test_id("mailboxes").get_by_role("link").first.click()
    confirm = page.get_by_test_id("offboarding-confirm")
    for device in mine:
        expect(confirm).to_contain_text(device.name)
    chosen = page.locator(f"#full-{mine[0].pk}")
    if chosen.count():  # the device supports an account-only wipe: the administrator chooses a full one
        chosen.check()
    screenshot(page, "offboarding-confirm")
    page.get_by_test_id("confirm").click()

    outcome = page.get_by_test_id("offboarding-outcome")
    expect(outcome).to_contain_text("Waiting for the wipes")
    expect(page.get_by_test_id("wipe-state").filter(has_text="Pending on device")).to_have_count(len(mine), timeout=30_000)
    screenshot(page, "offboarding-pending")
    for device in mine:
        control.sync_device(device.device_id)
    # The page follows the wipes (the worker's watcher reads their statistics every few seconds), then
    # the worker turns ActiveSync off for the mailbox.
    expect(page.get_by_test_id("block-state")).to_contain_text("ActiveSync turned off", timeout=60_000)
    expect(page.get_by_test_id("wipe-state").filter(has_text="Acknowledged")).to_have_count(len(mine))
    expect(outcome).to_have_attribute("data-finished", "yes")
    screenshot(page, "offboarding-finished")
    assert [c["parameters"] for c in control.calls(start) if c["cmdlet"] == "Set-CASMailbox"] == [
        {"Identity": mailbox, "ActiveSyncEnabled": False}]
    assert control.user(mailbox)["activesync_enabled"] is False
    page.get_by_role("link", name="Offboarding", exact=True).click()
    expect(page.locator(".console-list")).to_contain_text("ActiveSync turned off")
    page.locator(".console-row").first.click()  # the details pane shows the outcome
    expect(page.locator("#details-pane")).to_contain_text("Acknowledged")
    screenshot(page, "offboarding-list")

    sign_in(phone, "operator", PASSWORD)
    phone.goto(Offboarding.objects.get().get_absolute_url())
    expect(phone.get_by_test_id("block-state")).to_contain_text("ActiveSync turned off")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "offboarding-finished-phone")
    phone.goto(f"/assets/offboarding/add/?connector={mine[0].connector_id}&mailbox={mailbox}")
    expect(phone.get_by_test_id("offboarding-confirm")).to_contain_text(mine[0].name)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "offboarding-confirm-phone")
