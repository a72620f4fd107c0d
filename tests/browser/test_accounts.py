"""A Full Administrator creates an end user's local account in the console (no shell), and the person signs in."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.personas import PASSWORD, make_persona

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_administrator_creates_a_local_account_that_then_signs_in(page, browser, console_server, screenshot):
    make_persona("full_admin")
    sign_in(page, "full_admin", PASSWORD)
    page.get_by_role("link", name="Administration", exact=True).click()  # administrators land on the dashboard
    page.get_by_role("link", name="Accounts", exact=True).click()
    expect(page.get_by_role("heading", name="Accounts")).to_be_visible()
    page.get_by_role("link", name="Add Account").click()
    page.get_by_label("User name").fill("jdoe@contoso.com")
    page.get_by_label("First name").fill("John")
    page.get_by_label("Last name").fill("Doe")
    page.get_by_label("E-mail address").fill("jdoe@contoso.com")
    page.locator("#id_password1").fill("Correct-Horse-42")
    page.get_by_label("Confirm the password").fill("Correct-Horse-42")
    screenshot(page, "accounts-add")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved jdoe@contoso.com.")).to_be_visible()
    page.get_by_role("navigation", name="Navigation").get_by_role("link", name="Accounts").click()
    expect(page.get_by_role("row", name=re.compile("jdoe@contoso.com.*John Doe"))).to_be_visible()
    screenshot(page, "accounts-list")

    context = browser.new_context(base_url=console_server.url)
    person = context.new_page()
    sign_in(person, "jdoe@contoso.com", "Correct-Horse-42")
    expect(person.get_by_role("heading", name="My Devices")).to_be_visible()
    context.close()


def test_an_administrator_gives_a_role_to_a_directory_group_nobody_brought_in_yet(page, screenshot):
    from easconsole.models import RoleAssignment

    make_persona("full_admin")
    sign_in(page, "full_admin", PASSWORD)
    page.get_by_role("link", name="Administration", exact=True).click()  # administrators land on the dashboard
    page.get_by_role("link", name="Administrative Users").click()
    page.get_by_role("link", name="Add User or Group").click()
    page.get_by_label("A group").check()
    page.get_by_label("Or a directory group").fill("EAS-Operators")
    page.locator("#id_role").select_option(label="Operations Administrator")
    screenshot(page, "administrative-users-directory-group")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved EAS-Operators (group) - Operations Administrator.")).to_be_visible()
    assert RoleAssignment.objects.get(group__name="EAS-Operators").role.name == "Operations Administrator"
