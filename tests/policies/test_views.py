"""The connector's Settings and Access Rules tabs, for each persona."""
import pytest
from django.urls import reverse

from easconsole.models import AuditEvent, ExchangeConnector
from policies.models import AccessRule, ConnectorPolicy
from tests.factories import SiteFactory
from tests.personas import make_persona, make_user

pytestmark = pytest.mark.django_db

SETTINGS_POST = {"DevicePasswordEnabled": "True", "MinDevicePasswordLength": "8", "AllowCamera": "False", "allow_external_mdm": "on"}
RULES_POST = {
    "default_access_level": "Quarantine", "admin_mail_recipients": "helpdesk@contoso.com", "user_mail_insert": "Call 1234.",
    "rules-TOTAL_FORMS": "2", "rules-INITIAL_FORMS": "0",
    "rules-0-characteristic": "DeviceModel", "rules-0-query_string": "ContosoPhone", "rules-0-access_level": "Block",
    "rules-1-characteristic": "DeviceType", "rules-1-query_string": "", "rules-1-access_level": "Allow",
}
PAGES = [("policies:connector_settings", SETTINGS_POST), ("policies:connector_access_rules", RULES_POST)]


@pytest.fixture
def connector():
    return ExchangeConnector.objects.create(name="Contoso Exchange", site=SiteFactory(code="P01"))


def changes():
    return (AuditEvent.objects.exclude(action__in=["sign in", "sign out"]).count(), ConnectorPolicy.objects.count(),
            AccessRule.objects.count())


def test_full_administrator_saves_settings(client, connector):
    client.force_login(make_persona("full_admin"))
    url = reverse("policies:connector_settings", args=[connector.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "Properties: Contoso Exchange — Settings" in page.text
    for legend in ("General", "Password", "Email Management", "Security", "Application"):
        assert f"<legend>{legend}<span" in page.text
    assert "<legend>External mobile device management</legend>" in page.text
    assert page.text.count('data-managed="exchange"') == 5
    assert ">Save</button>" in page.text
    response = client.post(url, SETTINGS_POST, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 302 and response["Location"] == url
    policy = ConnectorPolicy.objects.get(connector=connector)
    assert policy.settings == {"DevicePasswordEnabled": True, "MinDevicePasswordLength": 8, "AllowCamera": False}
    assert policy.allow_external_mdm is True
    event = AuditEvent.objects.get(object_type="mobile device settings")
    assert event.username == "full_admin" and event.address == "10.1.2.3"
    assert event.changes["MinDevicePasswordLength"] == ["Not configured", "8"]
    page = client.get(url)
    assert "Saved the settings of Contoso Exchange." in page.text
    assert 'value="8"' in page.text
    # The Password and Security groups are now the connector's; the others stay Exchange's.
    assert page.text.count('data-managed="connector"') == 2 and page.text.count('data-managed="exchange"') == 3


def test_a_bad_value_is_shown_with_its_message_and_nothing_saved(client, connector):
    client.force_login(make_persona("full_admin"))
    url = reverse("policies:connector_settings", args=[connector.pk])
    response = client.post(url, {**SETTINGS_POST, "MinDevicePasswordLength": "40"})
    assert response.status_code == 200
    assert "Minimum password length must be between 1 and 16." in response.text
    assert 'value="40"' in response.text
    assert not ConnectorPolicy.objects.exists()


def test_full_administrator_saves_access_rules(client, connector):
    client.force_login(make_persona("full_admin"))
    url = reverse("policies:connector_access_rules", args=[connector.pk])
    page = client.get(url)
    assert "Properties: Contoso Exchange — Access Rules" in page.text
    assert client.post(url, RULES_POST).status_code == 302
    assert [str(r) for r in AccessRule.objects.filter(connector=connector)] == ["ContosoPhone (DeviceModel)"]
    policy = ConnectorPolicy.objects.get(connector=connector)
    assert (policy.default_access_level, policy.admin_mail_recipients, policy.user_mail_insert) == (
        "Quarantine", ["helpdesk@contoso.com"], "Call 1234.")
    assert AuditEvent.objects.get(object_type="access rules").changes["rule ContosoPhone (DeviceModel)"] == ["", "Block"]
    # The stored rule comes back as a row; deleting it removes it.
    page = client.get(url).text
    assert 'value="ContosoPhone"' in page
    client.post(url, {**RULES_POST, "rules-TOTAL_FORMS": "1", "rules-INITIAL_FORMS": "1", "rules-0-DELETE": "on"})
    assert not AccessRule.objects.exists()


def test_duplicate_rules_are_refused_on_the_page(client, connector):
    client.force_login(make_persona("full_admin"))
    url = reverse("policies:connector_access_rules", args=[connector.pk])
    response = client.post(url, {**RULES_POST, "rules-1-characteristic": "DeviceModel", "rules-1-query_string": "contosophone"})
    assert response.status_code == 200
    assert "There are two rules for “contosophone (DeviceModel)”" in response.text
    assert not AccessRule.objects.exists()


@pytest.mark.parametrize("persona", ["operator", "analyst"])
@pytest.mark.parametrize(("name", "data"), PAGES)
def test_readers_see_read_only_and_cannot_save(client, connector, persona, name, data):
    client.force_login(make_persona(persona))
    url = reverse(name, args=[connector.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert 'data-testid="read-only"' in page.text
    assert ">Save</button>" not in page.text and "Add rule" not in page.text
    assert " disabled" in page.text
    before = changes()
    assert client.post(url, data).status_code == 403
    assert changes() == before


@pytest.mark.parametrize(("name", "data"), PAGES)
def test_end_user_and_anonymous_are_refused(client, connector, name, data):
    url = reverse(name, args=[connector.pk])
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(make_persona("end_user"))
    assert client.get(url).status_code == 403
    before = changes()
    assert client.post(url, data).status_code == 403
    assert changes() == before


@pytest.mark.parametrize(("name", "data"), PAGES)
def test_full_administrator_of_another_site_does_not_see_this_connector(client, connector, name, data):
    client.force_login(make_user("branch-admin", "Full Administrator", sites=[SiteFactory(code="B01")]))
    url = reverse(name, args=[connector.pk])
    assert client.get(url).status_code == 404
    before = changes()
    assert client.post(url, data).status_code == 404
    assert changes() == before


def test_policy_permission_alone_on_the_site_suffices_to_save(client, connector):
    # A Full Administrator scoped to the connector's site saves there.
    client.force_login(make_user("p01-admin", "Full Administrator", sites=[connector.site]))
    url = reverse("policies:connector_settings", args=[connector.pk])
    assert client.post(url, SETTINGS_POST).status_code == 302
    assert ConnectorPolicy.objects.filter(connector=connector).exists()


def test_unknown_connector_is_404(client):
    client.force_login(make_persona("full_admin"))
    assert client.get(reverse("policies:connector_settings", args=[999])).status_code == 404


def test_tabs_link_the_connector_pages(client, connector):
    client.force_login(make_persona("analyst"))
    page = client.get(reverse("policies:connector_access_rules", args=[connector.pk])).text
    tabs = page.split('data-testid="connector-tabs"')[1].split("</ul>")[0]
    assert reverse("policies:connector_settings", args=[connector.pk]) in tabs
    assert 'aria-current="page" href="' + reverse("policies:connector_access_rules", args=[connector.pk]) in tabs
