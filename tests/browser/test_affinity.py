"""An Operations Administrator imports user device affinity from a CSV file, reads the preview, confirms,
and finds the links on the device's Edit Primary Users page, where they add one more by hand."""
import pytest
from playwright.sync_api import expect

from devices.models import Collection, CollectionMember, UserDeviceAffinity
from tests.browser.conftest import sign_in
from tests.factories import DeviceFactory, UserFactory
from tests.personas import PASSWORD, make_persona

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = (b"User,Device\r\n"
       b"CONTOSO\\jdoe,jdoe_iPhone\r\n"
       b"CONTOSO\\asmith,APPLASMITH0002\r\n"
       b"CONTOSO\\nobody,jdoe_iPhone\r\n")


def test_import_preview_confirm_and_edit_primary_users(page, screenshot):
    everyone = Collection.objects.get(name="All Mobile Devices")
    phone = DeviceFactory(user="jdoe", device_type="iPhone", device_id="APPLJDOE0001")
    tablet = DeviceFactory(user="asmith", device_type="iPad", device_id="APPLASMITH0002")
    for device in (phone, tablet):
        CollectionMember.objects.create(collection=everyone, device=device)
    UserFactory(username="CONTOSO\\jdoe", first_name="John", last_name="Doe", email="john.doe@contoso.com")
    UserFactory(username="CONTOSO\\asmith", first_name="Anna", last_name="Smith", email="anna.smith@contoso.com")
    UserFactory(username="CONTOSO\\mchen", first_name="Mei", last_name="Chen", email="mei.chen@contoso.com")
    make_persona("operator")

    sign_in(page, "operator", PASSWORD)
    page.goto("/assets/devices/")
    page.get_by_role("link", name="User Device Affinity").click()
    expect(page.get_by_role("heading", name="Import User Device Affinity")).to_be_visible()
    page.get_by_label("CSV file").set_input_files({"name": "affinity.csv", "mimeType": "text/csv", "buffer": CSV})
    screenshot(page, "affinity-import-upload")
    page.get_by_role("button", name="Read the file").click()

    # The preview: two links to add, one row in error with its line and reason; nothing written yet.
    expect(page.get_by_test_id("new-count")).to_have_text("2 links to add")
    expect(page.get_by_test_id("error-count")).to_have_text("1 row in error")
    error = page.get_by_test_id("error-row")
    expect(error).to_have_count(1)
    expect(error).to_contain_text("4")
    expect(error).to_contain_text("Unknown user")
    expect(page.get_by_text("The first line was recognised as column headings")).to_be_visible()
    screenshot(page, "affinity-import-preview")
    assert UserDeviceAffinity.objects.count() == 0

    page.get_by_role("button", name="Import 2 links").click()
    expect(page.get_by_role("alert")).to_contain_text("Imported 2 user device affinities from affinity.csv")
    assert set(UserDeviceAffinity.objects.values_list("device__name", "user__username", "source")) == {
        ("jdoe_iPhone", "CONTOSO\\jdoe", "imported"), ("asmith_iPad", "CONTOSO\\asmith", "imported")}

    # The device shows its imported link; Edit Primary Users adds another by hand.
    page.goto(f"/assets/devices/{phone.pk}/")
    expect(page.locator("section[aria-labelledby=affinity-title]")).to_contain_text("Imported from a file")
    page.goto(f"/assets/devices/{phone.pk}/primary-users/")
    expect(page.get_by_test_id("primary-user")).to_have_count(1)
    expect(page.get_by_test_id("source")).to_have_text("Imported from a file")
    page.get_by_label("Search users by user name, name or email").fill("mei")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("button", name="Add CONTOSO\\mchen").click()
    expect(page.get_by_role("alert").first).to_contain_text("CONTOSO\\mchen is now a primary user of jdoe_iPhone")
    expect(page.get_by_test_id("primary-user")).to_have_count(2)
    expect(page.get_by_test_id("transfer-tip")).to_contain_text("Delete the device from the console before the new owner sets up mail")
    screenshot(page, "affinity-edit-primary-users")
    assert UserDeviceAffinity.objects.get(device=phone, user__username="CONTOSO\\mchen").source == "manual"


def test_an_unreadable_file_is_refused_and_readers_see_primary_users_read_only(page, browser, console_server, screenshot):
    everyone = Collection.objects.get(name="All Mobile Devices")
    phone = DeviceFactory(user="jdoe", device_type="iPhone")
    CollectionMember.objects.create(collection=everyone, device=phone)
    UserDeviceAffinity.objects.create(device=phone, user=UserFactory(username="CONTOSO\\jdoe", first_name="John", last_name="Doe"),
                                      source="automatic")
    make_persona("operator")
    make_persona("analyst")

    sign_in(page, "operator", PASSWORD)
    page.goto("/assets/user-device-affinity/import/")
    page.get_by_label("CSV file").set_input_files({"name": "excel.csv", "mimeType": "text/csv",
                                                   "buffer": "CONTOSO\\jdoe,jdoe_iPhone\r\nCONTOSO\\müller,x\r\n".encode("cp1252")})
    page.get_by_role("button", name="Read the file").click()
    expect(page.get_by_text("Line 2 is not UTF-8 text")).to_be_visible()
    screenshot(page, "affinity-import-wrong-encoding")

    context = browser.new_context(base_url=console_server.url, viewport={"width": 1366, "height": 800})
    reader = context.new_page()
    sign_in(reader, "analyst", PASSWORD)
    reader.goto(f"/assets/devices/{phone.pk}/primary-users/")
    expect(reader.get_by_test_id("read-only")).to_be_visible()
    expect(reader.get_by_test_id("source")).to_have_text("Automatic (Exchange Server connector)")
    expect(reader.get_by_role("button", name="Remove")).to_have_count(0)
    screenshot(reader, "affinity-edit-primary-users-read-only")
    context.close()
