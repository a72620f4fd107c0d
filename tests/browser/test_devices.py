"""Assets and Compliance ▸ Devices in a browser: an operator lists, filters, chooses columns and opens a device;
an administrator builds a collection from a rule and a direct member."""
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from devices.models import CollectionMember, UserDeviceAffinity
from devices.services import refresh_memberships
from easconsole.models import ExchangeConnector
from tests.browser.conftest import sign_in
from tests.factories import CollectionFactory, DeviceFactory, SiteFactory, UserFactory
from tests.personas import PASSWORD, make_persona

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fleet(console_server):
    now = timezone.now()
    connector = ExchangeConnector.objects.create(name="Contoso Exchange", site=SiteFactory(code="P01"))
    devices = [
        DeviceFactory(user="anna.smith", user_display_name="Anna Smith", device_type="iPhone", connector=connector,
                      last_success_sync=now - timedelta(minutes=20)),
        DeviceFactory(user="ben.jones", user_display_name="Ben Jones", device_type="SAMSUNGSMG998B", device_model="SM-G998B",
                      device_os="Android 14.0.0", device_user_agent="Android-SAMSUNG-SM-G998B/101.140000",
                      access_state="Quarantined", access_state_reason="DeviceRule", connector=connector),
        DeviceFactory(user="carla.rossi", user_display_name="Carla Rossi", device_type="iPad", device_model="iPad13C1",
                      device_os="iOS 16.7.8 20H343", status="DeviceWipePending", connector=connector,
                      device_wipe_request_time=now - timedelta(hours=1), last_device_wipe_requestor="CONTOSO\\operator",
                      last_success_sync=now - timedelta(days=41)),
        DeviceFactory(user="dan.kim", user_display_name="Dan Kim", device_type="WP8", device_model="RM-1104_1001",
                      device_os="Windows Phone 10.0.15254", connector=connector, last_success_sync=now - timedelta(days=300),
                      missing_since=now - timedelta(days=3)),
    ]
    for n in range(8):
        DeviceFactory(user=f"staff{n:02d}", device_type="iPhone", connector=connector)
    UserDeviceAffinity.objects.create(device=devices[2], user=UserFactory(username="carla.rossi", first_name="Carla",
                                                                          last_name="Rossi"), source="automatic")
    refresh_memberships()
    return devices


def test_operator_filters_devices_and_opens_one(page, screenshot, fleet):
    make_persona("operator")
    sign_in(page, "operator", PASSWORD)
    page.locator('[data-workspace="assets"]').click()
    expect(page.get_by_role("heading", name="Devices", exact=True)).to_be_visible()
    expect(page.get_by_test_id("result-count")).to_have_text("12 devices")
    screenshot(page, "devices-list")

    filters = page.get_by_role("search", name="Filter devices")
    filters.get_by_label("Operating system").select_option(label="iOS and iPadOS")
    filters.get_by_label("Inactive for more than (days)").fill("30")
    filters.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("result-count")).to_have_text("1 device")
    expect(page.get_by_role("cell", name="Wipe pending")).to_be_visible()  # Exchange's DeviceWipePending, in words
    screenshot(page, "devices-list-filtered")

    # A click on the row shows the device in the details pane; Open goes to its page.
    page.get_by_role("row", name=re.compile("carla.rossi_iPad")).get_by_role("cell").nth(2).click()
    pane = page.locator("#details-pane")
    expect(pane).to_contain_text("iOS 16.7.8 20H343")
    pane.get_by_role("link", name="Open").click()
    expect(page.get_by_role("heading", name="carla.rossi_iPad")).to_be_visible()
    for title in ("Device", "User", "Access", "Sync", "Policy", "Wipe", "User device affinity", "Collections", "History"):
        expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
    expect(page.get_by_text("CONTOSO\\operator")).to_be_visible()
    expect(page.get_by_text("Automatic (Exchange Server connector)")).to_be_visible()
    expect(page.get_by_role("link", name="All Mobile Devices")).to_be_visible()
    page.set_viewport_size({"width": 1366, "height": 2000})
    screenshot(page, "device-details")


def test_operator_chooses_columns_and_sees_a_missing_device(page, screenshot, fleet):
    make_persona("operator")
    sign_in(page, "operator", PASSWORD)
    page.goto("/assets/devices/")
    page.get_by_test_id("column-chooser").click()
    chooser = page.get_by_role("toolbar", name="Actions")
    chooser.get_by_label("IMEI").check()
    chooser.get_by_label("Exchange Server connector").check()
    chooser.get_by_label("Model", exact=True).uncheck()
    screenshot(page, "devices-column-chooser")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("columnheader", name="IMEI")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Model", exact=True)).to_have_count(0)
    page.reload()  # remembered
    expect(page.get_by_role("columnheader", name="IMEI")).to_be_visible()
    filters = page.get_by_role("search", name="Filter devices")
    filters.get_by_label("Missing from Exchange").select_option(label="Yes")
    filters.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("result-count")).to_have_text("1 device")
    page.get_by_role("link", name="dan.kim_WP8").click()
    expect(page.get_by_test_id("missing-notice")).to_contain_text("Exchange no longer has this device")
    screenshot(page, "device-details-missing")


def test_administrator_builds_a_collection_from_a_rule_and_a_direct_member(page, screenshot, fleet):
    collection = CollectionFactory(name="Android and friends")
    make_persona("full_admin")
    sign_in(page, "full_admin", PASSWORD)
    page.goto(collection.get_absolute_url())
    page.get_by_label("Device field").select_option(label="Operating system")
    page.get_by_label("Operator").select_option(label="starts with")
    page.get_by_label("Value").fill("android")
    page.get_by_role("button", name="Add rule").click()
    expect(page.get_by_text("Added the rule; the collection now has 1 members.")).to_be_visible()
    expect(page.get_by_role("link", name="ben.jones_SAMSUNGSMG998B")).to_be_visible()

    page.get_by_role("link", name="Add Resources").first.click()
    page.get_by_label("Search devices by name, device ID or user").fill("anna")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("row", name=re.compile("anna.smith_iPhone")).get_by_role("checkbox").check()
    screenshot(page, "collection-add-resources")
    page.get_by_role("button", name="Add selected devices").click()
    expect(page.get_by_test_id("member-count")).to_have_text("2 devices")
    assert set(CollectionMember.objects.filter(collection=collection).values_list("device__name", "direct")) == {
        ("ben.jones_SAMSUNGSMG998B", False), ("anna.smith_iPhone", True)}
    page.set_viewport_size({"width": 1366, "height": 1400})
    screenshot(page, "collection-details")
