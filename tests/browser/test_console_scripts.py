"""The console's behaviour under its Content-Security-Policy (no inline script, no eval, no inline style): the
select-all tick, a tick that does not open the details pane, Follow in the log viewer, Print, the report bars.
The harness (conftest.py) fails any test on a violation the browser reports."""
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from devices.models import DeviceAction
from devices.services import refresh_memberships
from easconsole import logs
from tests.browser.conftest import sign_in
from tests.factories import DeviceFactory
from tests.personas import PASSWORD, make_persona

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_ticks_in_the_device_list(page, console_server, screenshot):
    devices = [DeviceFactory(user=f"user{n}") for n in range(3)]
    refresh_memberships()
    make_persona("operator")
    sign_in(page, "operator", PASSWORD)
    page.goto("/assets/devices/")
    ticks = page.locator('input[name="device"]')
    expect(ticks).to_have_count(3)

    ticks.first.check()  # a tick is not a click on the row: the details pane stays as it was
    expect(ticks.first).to_be_checked()
    expect(page.locator("#details-pane")).not_to_contain_text(devices[0].device_id)
    page.get_by_label("Select every device on this page").check()
    for n in range(3):
        expect(ticks.nth(n)).to_be_checked()
    page.get_by_label("Select every device on this page").uncheck()
    for n in range(3):
        expect(ticks.nth(n)).not_to_be_checked()

    page.get_by_role("row", name=re.compile(devices[1].name)).get_by_role("cell").nth(2).click()  # htmx loads the pane
    expect(page.locator("#details-pane")).to_contain_text(devices[1].device_id)
    screenshot(page, "csp-devices-ticks-and-pane")


def test_follow_in_the_log_viewer_polls_only_while_ticked(page, console_server):
    make_persona("analyst")
    logs.easdisc.warning("Before the page opened")
    sign_in(page, "analyst", PASSWORD)
    page.goto("/monitoring/logs/?log=EasDisc.log")
    expect(page.locator("#log-lines")).to_contain_text("Before the page opened")

    logs.easdisc.warning("Written while following")
    expect(page.locator("#log-lines")).to_contain_text("Written while following")  # polled in every 2 s

    polled = lambda request: "/monitoring/logs/" in request.url and request.headers.get("hx-trigger") == "log-follow"  # noqa: E731
    with page.expect_response(lambda response: "/monitoring/logs/" in response.url):
        page.get_by_label("Follow").uncheck()  # the form's own change request
    logs.easdisc.warning("Written after Follow was unticked")
    with pytest.raises(PlaywrightTimeout):  # two polling periods pass without a request
        page.wait_for_event("request", predicate=polled, timeout=4500)
    expect(page.locator("#log-lines")).not_to_contain_text("Written after Follow was unticked")
    page.get_by_label("Follow").check()
    expect(page.locator("#log-lines")).to_contain_text("Written after Follow was unticked")


def test_report_bars_and_print(page, console_server, screenshot):
    for n, state in enumerate(("pending", "pending", "pending", "failed")):  # one open wipe a device
        device = DeviceFactory(user=f"user{n}")
        DeviceAction.objects.create(device=device, device_name=device.name, device_identity=device.identity, kind="wipe",
                                    state=state, requested_by_name="operator")
    refresh_memberships()
    make_persona("analyst")
    sign_in(page, "analyst", PASSWORD)
    page.goto("/assets/reports/wipe-actions/")
    expect(page.get_by_test_id("count-pending-on-device")).to_have_text("3")
    bar = page.locator("svg.report-bar rect:not(.track)")
    widths = {bar.nth(n).get_attribute("width") for n in range(bar.count())}
    assert {"75%", "25%", "0%"} <= widths
    pending = page.get_by_test_id("count-pending-on-device").locator("xpath=..").locator("svg.report-bar")
    drawn = pending.locator("rect:not(.track)").bounding_box()["width"] / pending.bounding_box()["width"]
    assert 0.7 < drawn < 0.8
    screenshot(page, "csp-wipe-report-bars")

    page.goto("/assets/reports/inactive-devices/")
    page.evaluate("() => { window.print = () => { document.body.dataset.printed = 'yes'; }; }")
    page.get_by_role("button", name="Print").click()
    expect(page.locator("body")).to_have_attribute("data-printed", "yes")
