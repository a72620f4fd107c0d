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
