"""In a browser, a device whose name carries a right-to-left override reads as what it is."""
import pytest
from django.urls import reverse
from playwright.sync_api import expect

from devices.services import refresh_memberships
from easconsole.models import ExchangeConnector
from tests.browser.conftest import sign_in
from tests.factories import DeviceFactory, SiteFactory
from tests.personas import PASSWORD, make_persona

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_spoofed_device_name_shows_its_override(page, console_server, screenshot):
    connector = ExchangeConnector.objects.create(name="Contoso Exchange", site=SiteFactory(code="P01"))
    # Rendered as is, this name would read "erin_iPhoneexe.png".
    device = DeviceFactory(user="erin", device_type="iPhone\u202egnp.exe", friendly_name="Erin's iPhone 😀 山田",
                           user_display_name="Erin\u200bAdmin", device_os="iOS 17 عربي", connector=connector)
    DeviceFactory(user="frank", device_type="iPhone", connector=connector)
    refresh_memberships()
    analyst = make_persona("analyst")
    sign_in(page, analyst.username, PASSWORD)

    page.goto(reverse("devices:device_list"))
    expect(page.get_by_role("link", name="erin_iPhone[U+202E]gnp.exe")).to_be_visible()
    expect(page.get_by_role("cell", name="Erin[U+200B]Admin")).to_be_visible()
    screenshot(page, "devices-list-spoofed-name")

    page.goto(device.get_absolute_url())
    expect(page.get_by_role("heading", level=1)).to_have_text("erin_iPhone[U+202E]gnp.exe")
    assert "\u202e" not in page.locator("main").inner_text()
    expect(page.get_by_text("iOS 17 عربي")).to_be_visible()
    screenshot(page, "device-details-spoofed-name")
