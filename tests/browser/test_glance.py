"""The console at a glance (issue 16) in a browser: the dashboard, the header search, plain words,
the device list's details pane and bulk buttons; desktop and phone, light and dark (screenshots)."""
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from devices import history
from devices.models import DeviceAction, FleetSnapshot
from easconsole.models import ExchangeConnector
from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import AXE, SERIOUS
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


def test_device_list_fits_1440_with_the_details_pane_beside_it(browser, console_server, screenshot, fleet):
    context = browser.new_context(base_url=console_server.url, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    make_persona("operator")
    sign_in(page, "operator", PASSWORD)
    page.goto("/assets/devices/")
    wipe = page.get_by_role("button", name="Wipe", exact=True)
    expect(wipe).to_be_disabled()  # nothing ticked yet
    expect(page.get_by_text("No device selected")).to_be_visible()
    page.get_by_role("checkbox", name="Select ben.jones_SAMSUNGSMG998B").check()
    page.get_by_role("checkbox", name="Select carla.rossi_iPad").check()
    expect(page.get_by_text("2 selected")).to_be_visible()
    expect(wipe).to_be_enabled()
    # Plain words, the token in the tooltip; a readable model name.
    row = page.get_by_role("row", name=re.compile("ben.jones_SAMSUNGSMG998B"))
    expect(row.get_by_title("Quarantined", exact=True)).to_have_text("Quarantined")
    # A row opens from the keyboard, and its details stand beside the list.
    row.focus()
    page.keyboard.press("Enter")
    pane = page.locator("#details-pane")
    expect(pane).to_contain_text("ben.jones@contoso.com")
    expect(pane.get_by_title("SM-G998B")).to_have_text("Samsung Galaxy S21 Ultra")
    the_list = page.locator(".console-list").bounding_box()
    assert pane.bounding_box()["x"] > the_list["x"] + the_list["width"] - 1
    screenshot(page, "glance-device-list-1440")
    assert page.locator(".console-list .table-responsive").evaluate("e => e.scrollWidth <= e.clientWidth + 1"), "the default columns overflow"
    screenshot(page, "glance-device-list-1440")
    page.goto(f"/assets/devices/{fleet[0].pk}/")
    allow = page.get_by_role("button", name="Allow", exact=True)
    expect(allow).to_be_disabled()  # already allowed
    context.close()


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_dark_mode_follows_the_system_and_the_toggle(browser, console_server, screenshot, fleet):
    context = browser.new_context(base_url=console_server.url, viewport={"width": 1440, "height": 900}, color_scheme="dark")
    page = context.new_page()
    make_persona("full_admin")
    sign_in(page, "full_admin", PASSWORD)
    html = page.locator("html")
    expect(html).to_have_attribute("data-bs-theme", "dark")  # the system's setting
    expect(page.get_by_role("button", name="Dark mode")).to_have_attribute("aria-pressed", "true")
    screenshot(page, "glance-dashboard-dark")
    page.goto("/assets/devices/")
    page.get_by_role("row", name=re.compile("ben.jones_SAMSUNGSMG998B")).get_by_role("cell").nth(2).click()
    expect(page.locator("#details-pane")).to_contain_text("ben.jones@contoso.com")
    screenshot(page, "glance-device-list-dark")
    page.get_by_role("button", name="Dark mode").click()  # chosen: light, kept across pages
    expect(html).to_have_attribute("data-bs-theme", "light")
    page.goto("/reports/audit-trail/")
    expect(html).to_have_attribute("data-bs-theme", "light")
    expect(page.get_by_role("button", name="Dark mode")).to_have_attribute("aria-pressed", "false")
    context.close()


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_console_on_a_phone(browser, console_server, screenshot, fleet, dark):
    context = browser.new_context(base_url=console_server.url, viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, color_scheme="dark" if dark else "light")
    phone = context.new_page()
    mode = "dark" if dark else "light"
    make_persona("operator")
    sign_in(phone, "operator", PASSWORD)
    expect(phone.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert no_sideways_scroll(phone)
    screenshot(phone, f"glance-phone-dashboard-{mode}")
    # The navigation folds behind Menu.
    devices_link = phone.get_by_role("navigation", name="Navigation").get_by_role("link", name="Devices", exact=True)
    expect(devices_link).to_be_hidden()
    phone.get_by_role("button", name="Menu").click()
    screenshot(phone, f"glance-phone-menu-{mode}")
    devices_link.click()
    expect(phone.get_by_test_id("result-count")).to_have_text("12 devices")
    assert no_sideways_scroll(phone)
    screenshot(phone, f"glance-phone-devices-{mode}")
    phone.goto(f"/assets/devices/{fleet[1].pk}/")
    assert no_sideways_scroll(phone)
    screenshot(phone, f"glance-phone-device-{mode}")
    context.close()


@pytest.mark.parametrize("width", [1280, 1440, 1600])
def test_the_header_and_navigation_hold_on_one_line_on_a_laptop(browser, console_server, screenshot, fleet, width):
    context = browser.new_context(base_url=console_server.url, viewport={"width": width, "height": 900})
    page = context.new_page()
    make_persona("full_admin")
    sign_in(page, "full_admin", PASSWORD)
    page.goto("/assets/devices/")
    screenshot(page, f"glance-navigation-{width}")
    middle = "e => { const r = e.getBoundingClientRect(); return r.top + r.height / 2; }"
    items = page.locator(".console-header > *:visible").evaluate_all(f"items => items.map({middle})")
    assert max(items) - min(items) < 8, f"the header wraps at {width} px"
    # The navigation pane's workspace names: each on one line, none cut.
    names = page.locator(".console-nav-title, .console-workspace").evaluate_all(
        "items => items.map(e => [e.textContent.trim(), e.scrollWidth <= e.clientWidth,"
        " e.getBoundingClientRect().height < 2 * parseFloat(getComputedStyle(e).lineHeight) + 4])")
    assert names and all(one_line and whole for _name, whole, one_line in names), names
    assert no_sideways_scroll(page)
    context.close()


def test_select_every_device_matching_the_filter_then_give_a_reason(browser, console_server, screenshot, fleet):
    ExchangeConnector.objects.update(state=ExchangeConnector.State.INSTALLED, installed_at=timezone.now())
    context = browser.new_context(base_url=console_server.url, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    make_persona("operator")
    sign_in(page, "operator", PASSWORD)
    page.goto("/assets/devices/?os_family=ios&per_page=5")  # 10 iOS devices, five a page
    expect(page.get_by_test_id("result-count")).to_have_text("10 devices")
    bar = page.locator("[data-select-matching]")
    expect(bar).to_be_hidden()
    page.get_by_role("checkbox", name="Select every device on this page").check()
    expect(bar).to_contain_text("All 5 devices on this page are selected.")
    page.get_by_role("button", name="Select all 10 devices matching this filter").click()
    expect(bar).to_contain_text("All 10 devices matching this filter are selected.")
    expect(page.get_by_text("10 selected")).to_be_visible()
    screenshot(page, "glance-select-all-matching")
    page.locator("#bulk-form").get_by_role("button", name="Block", exact=True).click()
    expect(page.get_by_test_id("bulk-all-matching")).to_contain_text("all 10 devices matching")
    page.get_by_label("Reason or ticket number (optional)").fill("CHG-1234 lost devices")
    screenshot(page, "glance-bulk-reason")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("alert").first).to_contain_text("Block requested for 10 device(s)")
    assert set(DeviceAction.objects.values_list("reason", flat=True)) == {"CHG-1234 lost devices"}
    assert DeviceAction.objects.count() == 10
    # Unticking a box goes back to the ticked devices.
    page.goto("/assets/devices/?os_family=ios&per_page=5")
    page.get_by_role("checkbox", name="Select every device on this page").check()
    page.get_by_role("button", name="Select all 10 devices matching this filter").click()
    page.locator('input[name="device"]').first.uncheck()
    expect(bar).to_be_hidden()
    expect(page.get_by_text("4 selected")).to_be_visible()
    context.close()


@pytest.fixture
def trend(fleet):
    """Thirty days of snapshots: the fleet slowly going quiet."""
    today = timezone.localdate()
    for n in range(29, 0, -1):
        FleetSnapshot.objects.create(date=today - timedelta(days=n), total=12,
                                     sync_ages=[8 - n // 6, 2, n // 10, n // 6, 1, 1 - n // 20])
    history.snapshot_take()


@pytest.mark.parametrize(("width", "dark"), [(1440, False), (1440, True), (390, False), (390, True)],
                         ids=["desktop-light", "desktop-dark", "phone-light", "phone-dark"])
def test_the_sync_age_trend_on_the_dashboard(browser, console_server, screenshot, trend, width, dark):
    phone = width == 390
    context = browser.new_context(base_url=console_server.url, viewport={"width": width, "height": 900 if not phone else 844},
                                  is_mobile=phone, has_touch=phone, color_scheme="dark" if dark else "light", bypass_csp=True)
    page = context.new_page()
    make_persona("full_admin")
    sign_in(page, "full_admin", PASSWORD)
    chart = page.get_by_test_id("sync-age-trend")
    expect(chart.locator("svg g")).to_have_count(30)
    mode = "dark" if dark else "light"
    assert no_sideways_scroll(page)
    chart.scroll_into_view_if_needed()
    screenshot(page, f"glance-trend-{'phone' if phone else 'desktop'}-{mode}")
    found = []
    for url in (reverse("devices:dashboard"), reverse("devices:report_inventory"), reverse("devices:report_inactive"),
                reverse("devices:device_list") + "?per_page=5"):
        assert page.goto(url).ok, url
        if "per_page" in url:
            page.get_by_role("checkbox", name="Select every device on this page").check()
        page.add_script_tag(path=str(AXE))
        found += [f"{url}: {v}" for v in page.evaluate(SERIOUS)]
    assert not found, "\n".join(found)
    page.goto(reverse("devices:report_inventory"))
    screenshot(page, f"glance-inventory-report-{'phone' if phone else 'desktop'}-{mode}")
    today = page.get_by_test_id("trend-0").inner_text().split(": ")[1]  # synced within a day (the fleet's are random)
    page.get_by_test_id("trend-0").click()
    expect(page.get_by_test_id("result-count")).to_have_text(re.compile(rf"^{today} devices?$"))
    context.close()
