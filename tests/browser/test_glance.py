"""The console at a glance (issue 16) in a browser: the dashboard, the header search, plain words,
the device list's details pane and bulk buttons; desktop and phone, light and dark (screenshots)."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.browser.test_devices import fleet  # noqa: F401  (fixture)
from tests.personas import PASSWORD, make_persona

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dashboard_figures_link_to_their_lists(page, screenshot, fleet):
    make_persona("operator")
    sign_in(page, "operator", PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_test_id("figure-devices")).to_contain_text("12")
    screenshot(page, "glance-dashboard-operator")
    page.get_by_test_id("access-quarantined").click()
    expect(page.get_by_role("heading", name="Devices", exact=True)).to_be_visible()
    expect(page.get_by_test_id("result-count")).to_have_text("1 device")
    page.go_back()
    page.get_by_test_id("figure-inactive").click()
    expect(page).to_have_url(re.compile(r"inactive_days=30"))
    expect(page.get_by_test_id("result-count")).to_have_text("2 devices")


def test_dashboard_on_a_phone(phone, screenshot, fleet):
    make_persona("analyst")
    sign_in(phone, "analyst", PASSWORD)
    expect(phone.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(phone, "glance-dashboard-phone")


def test_header_search_finds_a_device_from_the_keyboard(page, screenshot, fleet):
    make_persona("operator")
    sign_in(page, "operator", PASSWORD)
    search = page.get_by_role("search", name="Search devices and users").get_by_label("Search devices and users")
    search.fill("carla")
    results = page.get_by_test_id("search-results")
    expect(results.get_by_test_id("search-device")).to_have_count(1)
    expect(results).to_contain_text("Carla Rossi")
    screenshot(page, "glance-header-search")
    search.press("ArrowDown")  # the user, then the device
    search.page.keyboard.press("ArrowDown")
    expect(results.get_by_test_id("search-device")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="carla.rossi_iPad")).to_be_visible()
