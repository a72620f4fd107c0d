"""First journeys: each persona signs in through the browser and lands where it belongs."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.personas import PASSWORD, make_persona

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_full_administrator_lands_in_administration(page, screenshot):
    make_persona("full_admin")
    sign_in(page, "full_admin", PASSWORD)
    expect(page).to_have_url(re.compile(r"/assets/dashboard/$"))
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.locator('[data-workspace="administration"]').click()
    expect(page.get_by_role("heading", name="Exchange Server connectors")).to_be_visible()
    expect(page.locator(".console-workspace.active")).to_have_text("Administration")
    expect(page.get_by_role("link", name="Administrative Users")).to_be_visible()
    expect(page.get_by_role("link", name="Add Exchange Server")).to_be_visible()
    screenshot(page, "full-admin-landing")


def test_operations_administrator_lands_in_the_console_without_security(page, screenshot):
    make_persona("operator")
    sign_in(page, "operator", PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.locator('[data-workspace="administration"]').click()
    expect(page.get_by_role("heading", name="Exchange Server connectors")).to_be_visible()
    expect(page.get_by_role("link", name="Administrative Users")).to_have_count(0)
    expect(page.get_by_role("link", name="Add Exchange Server")).to_have_count(0)
    page.locator('[data-workspace="assets"]').click()
    # Assets and Compliance opens on Devices (issue 5); its collections are the next node.
    expect(page.get_by_role("heading", name="Devices", exact=True)).to_be_visible()
    page.get_by_role("link", name="Device Collections").click()
    expect(page.get_by_role("heading", name="Device collections")).to_be_visible()
    # A click on a row (not on its link) shows the item in the details pane, as the ConfigMgr console does.
    page.get_by_role("row", name=re.compile("All Mobile Devices")).get_by_role("cell").nth(2).click()
    expect(page.locator("#details-pane")).to_contain_text("Every mobile device discovered")
    expect(page.locator("#details-pane").get_by_role("link", name="Open")).to_be_visible()
    screenshot(page, "operator-collections-details-pane")


def test_auditor_lands_in_reports(page, screenshot):
    make_persona("analyst")
    sign_in(page, "analyst", PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.locator('[data-workspace="reports"]').click()
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    expect(page.locator(".console-workspace.active")).to_have_text("Reports")
    page.get_by_role("link", name="Administrative audit trail").first.click()
    expect(page.get_by_role("cell", name="Signed in").first).to_be_visible()
    screenshot(page, "auditor-audit-trail")


def test_end_user_lands_in_the_catalog_on_a_phone(phone, screenshot):
    make_persona("end_user")
    sign_in(phone, "end_user", PASSWORD)
    expect(phone.get_by_role("heading", name="My Devices")).to_be_visible()
    expect(phone.get_by_test_id("no-devices")).to_be_visible()
    phone.goto("/administration/sites/")
    expect(phone.get_by_role("heading", name="You are not permitted to do this")).to_be_visible()
    screenshot(phone, "end-user-catalog")


def test_wrong_password_is_explained(page, screenshot):
    make_persona("operator")
    sign_in(page, "operator", "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    screenshot(page, "sign-in-failed")


def test_administrative_user_form_shows_only_what_applies(page, screenshot):
    make_persona("full_admin")
    sign_in(page, "full_admin", PASSWORD)
    page.goto("/administration/security/administrative-users/add/")
    expect(page.locator("#id_user")).to_be_visible()
    expect(page.locator("#id_group")).to_be_hidden()
    expect(page.locator("#div_id_sites")).to_be_hidden()
    page.get_by_label("A group").check()
    expect(page.locator("#id_group")).to_be_visible()
    expect(page.locator("#id_user")).to_be_hidden()
    page.get_by_label("All sites").uncheck()
    expect(page.locator("#div_id_sites")).to_be_visible()
    screenshot(page, "administrative-user-form")
