"""An operator creates a personal API token on their profile page, sees it once, uses it, and revokes it."""
import re

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.personas import PASSWORD, make_persona

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_operator_creates_uses_and_revokes_a_token(page, console_server, screenshot):
    make_persona("operator")
    sign_in(page, "operator", PASSWORD)
    page.get_by_test_id("signed-in-as").get_by_role("link").click()  # the name in the header
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    page.get_by_label("Name").fill("ServiceNow offboarding")
    page.get_by_label("Expires after").select_option(label="30 days")
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_label("Your new token").input_value()
    assert token.startswith("eas_")
    screenshot(page, "profile-api-tokens")

    api = f"{console_server.url}/api/devices/"
    assert requests.get(api, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
    page.goto("/profile/")
    expect(page.get_by_label("Your new token")).to_have_count(0)  # shown once
    row = page.get_by_role("row", name=re.compile("ServiceNow offboarding"))
    expect(row.get_by_text("Active")).to_be_visible()
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text(re.compile("Revoked the token ServiceNow offboarding"))).to_be_visible()
    screenshot(page, "profile-api-tokens-revoked")
    assert requests.get(api, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 401
