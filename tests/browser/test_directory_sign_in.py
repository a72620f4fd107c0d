"""An end user signs in on a phone with their directory account (a real slapd on loopback): no account was
made for them beforehand; they land in their Application Catalog."""
import re

import pytest
from playwright.sync_api import expect

from tests.signin.conftest import directory, ldap_console  # noqa: F401 - the real directory and the console set for it
from tests.signin.directory import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_end_user_signs_in_with_directory_credentials_on_a_phone(phone, ldap_console, screenshot):
    phone.goto("/")
    expect(phone.get_by_text("Your directory account (jdoe or jdoe@contoso.com)")).to_be_visible()
    field = phone.get_by_label("Your work account or console user name")
    field.fill("jdoe@contoso.com")
    phone.get_by_label("Password").fill("not-my-password")
    phone.get_by_role("button", name="Sign in").click()
    expect(phone.get_by_role("alert")).to_contain_text("Please enter a correct username and password")
    screenshot(phone, "directory-sign-in-refused")

    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Sign in").click()
    expect(phone).to_have_url(re.compile(r"/catalog/$"))
    expect(phone.get_by_role("heading", name="My Devices")).to_be_visible()
    expect(phone.get_by_role("banner")).to_contain_text("John Doe")  # the name copied from the directory
    screenshot(phone, "directory-user-catalog")
