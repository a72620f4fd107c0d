"""Adding an Exchange Online connector: the wizard asks for the application, tests its sign-in against
the simulated tenant, refuses bad input with a message saying what to fix, and saves nothing then."""
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from easconsole import tasks
from easconsole.exchange.simulator.online import SimulatedTenant, app_certificate
from easconsole.exchange.simulator.testing import running_simulator
from easconsole.models import AuditEvent, ExchangeConnector
from easconsole.services import connectors as services
from tests.console import installed_online_connector
from tests.factories import SiteFactory
from tests.personas import make_persona

pytestmark = [pytest.mark.django_db, pytest.mark.simulator]
WIZARD = "exchange_connector_wizard-current_step"
UNKNOWN_APP = "0d4a2f3e-1b2c-4d5e-8f90-123456789abc"


@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=10) as sim:
        yield sim


@pytest.fixture(scope="module")
def tenant(exchange):
    with SimulatedTenant(exchange.org) as running:
        yield running


def general(tenant, site, **changes):
    return {"general-name": "Contoso Online", "general-environment": "online", "general-site": site.pk,
            "general-online_tenant": tenant.domain, **changes}


def account(tenant, **changes):
    with open(tenant.ca_file) as handle:
        ca_bundle = handle.read()
    return {"account-username": tenant.app_id, "account-password": tenant.app_credential,
            "account-online_endpoint": tenant.url, "account-online_authority": tenant.url,
            "account-ca_bundle": ca_bundle, **changes}


LATER_STEPS = [
    ("discovery", {"discovery-full_discovery_days": 1, "discovery-full_discovery_time": "02:00",
                   "discovery-delta_interval_minutes": 240, "discovery-all_recipients": "on",
                   "discovery-ignore_inactive_days": 30, "discovery-max_concurrency": 4}),
    ("settings", {}),
    ("access", {"access-default_access_level": "Allow", "access-rules-TOTAL_FORMS": 0, "access-rules-INITIAL_FORMS": 0,
                "access-rules-MIN_NUM_FORMS": 0, "access-rules-MAX_NUM_FORMS": 1000}),
]


def post(client, step, data):
    return client.post(reverse("easconsole:exchangeconnector_add"), {WIZARD: step, **data})


def walk(client, tenant, **account_changes):
    client.get(reverse("easconsole:exchangeconnector_add"))
    response = post(client, "general", general(tenant, SiteFactory(code="P01")))
    assert "is-invalid" not in response.text, response.text[-2000:]
    for step, data in [("account", account(tenant, **account_changes)), *LATER_STEPS]:
        response = post(client, step, data)
        assert response.status_code == 200 and "is-invalid" not in response.text, (step, response.text[-3000:])
    return response


def test_the_wizard_adds_a_connector_that_signs_in_with_its_certificate(tenant, client):
    client.force_login(make_persona("full_admin"))
    summary = walk(client, tenant)
    assert "Connection test succeeded." in summary.text and "Signed in to Exchange Online (Contoso)" in summary.text
    assert tenant.app_id in summary.text and "PRIVATE KEY" not in summary.text

    response = post(client, "summary", {})
    connector = ExchangeConnector.objects.get()
    assert response.status_code == 302 and connector.is_online and connector.username == tenant.app_id
    assert "PRIVATE KEY" not in connector.password_encrypted and connector.get_password().startswith("-----BEGIN")
    tasks.install_connector(connector.pk)
    connector.refresh_from_db()
    assert connector.state == ExchangeConnector.State.INSTALLED, connector.state_message
    assert str(connector.organization_guid) == tenant.tenant_id and connector.known_servers == []
    event = AuditEvent.objects.get(action="create", object_type="Exchange Server connector")
    assert "PRIVATE KEY" not in str(event.changes)


def test_the_account_page_shows_only_the_fields_of_the_chosen_kind(tenant, exchange, client):
    client.force_login(make_persona("full_admin"))
    client.get(reverse("easconsole:exchangeconnector_add"))
    online = post(client, "general", general(tenant, SiteFactory(code="P01")))
    assert "Application (client) ID" in online.text and "account-authentication" not in online.text
    assert "account-port" not in online.text
    client.get(reverse("easconsole:exchangeconnector_add"))
    onprem = post(client, "general", {**general(tenant, SiteFactory(code="P01")), "general-environment": "onprem",
                                      "general-servers": f"HQ: {exchange.server_address('EXCAS01')}"})
    assert "account-authentication" in onprem.text and "Application (client) ID" not in onprem.text


@pytest.mark.parametrize(("step", "changes", "message"), [
    ("general", {"general-online_tenant": "72f988bf-86f1-41af-91ab-2d7cd011db4"}, "is not a tenant ID"),
    ("general", {"general-online_tenant": "contoso onmicrosoft"}, "neither a tenant ID"),
    ("account", {"account-password": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"},
     "The certificate cannot be read"),
    ("account", {"account-password": "cert-only"}, "The certificate has no private key"),
    ("account", {"account-username": "admin@contoso.onmicrosoft.com"}, "Application (client) ID"),
])
def test_bad_input_is_refused_with_what_to_fix(tenant, client, step, changes, message):
    client.force_login(make_persona("full_admin"))
    client.get(reverse("easconsole:exchangeconnector_add"))
    if changes.get("account-password") == "cert-only":
        changes = {"account-password": tenant.app_credential.split("-----BEGIN PRIVATE KEY-----")[0]}
    site = SiteFactory(code="P01")
    if step == "general":
        response = post(client, "general", general(tenant, site, **changes))
    else:
        post(client, "general", general(tenant, site))
        response = post(client, "account", account(tenant, **changes))
    assert response.status_code == 200 and "is-invalid" in response.text and message in response.text
    assert not ExchangeConnector.objects.exists()


def test_a_wrong_app_id_or_certificate_fails_the_test_and_finish_saves_nothing(tenant, client):
    client.force_login(make_persona("full_admin"))
    summary = walk(client, tenant, **{"account-username": UNKNOWN_APP})
    assert "Connection test failed." in summary.text and "AADSTS700016" in summary.text
    refused = post(client, "summary", {})
    assert "The connector was not saved." in refused.text and not ExchangeConnector.objects.exists()

    summary = walk(client, tenant, **{"account-password": "".join(app_certificate("another"))})
    assert "Connection test failed." in summary.text and "not registered on application" in summary.text
    assert not ExchangeConnector.objects.exists()


def test_the_test_names_the_role_the_application_lacks(tenant, exchange):
    connector = installed_online_connector(tenant)
    app = tenant.apps[connector.username.lower()]
    exchange.org.deny_cmdlets(app.account, ["Remove-MobileDevice"])
    try:
        result = services.connection_test(services.connection_settings(connector), exclude_connector=connector.pk)
    finally:
        exchange.org.grant_cmdlets(app.account, ["Remove-MobileDevice"])
    assert not result.ok and result.missing == {"Remove-MobileDevice": "Recipient Management"}
    assert result.message == "The application cannot run: Remove-MobileDevice (granted by Recipient Management)"


def test_properties_keep_the_certificate_and_key_rotation_covers_it(tenant, client):
    connector = installed_online_connector(tenant)
    client.force_login(make_persona("full_admin"))
    details = client.get(connector.get_absolute_url()).text
    assert "Application (client) ID" in details and tenant.app_id in details and "Connection account" not in details
    assert "certificate or secret, stored encrypted" in details and "PRIVATE KEY" not in details
    url = reverse("easconsole:exchangeconnector_edit", args=[connector.pk])
    page = client.get(url)
    assert "Application (client) ID" in page.text and "PRIVATE KEY-----" not in page.text
    form = {"general-name": connector.name, "general-environment": "online", "general-site": connector.site_id,
            "general-online_tenant": tenant.tenant_id, **{k.replace("account-", "account-"): v for k, v in
                                                          account(tenant, **{"account-password": ""}).items()},
            "discovery-full_discovery_days": 1, "discovery-full_discovery_time": "02:00",
            "discovery-delta_interval_minutes": 240, "discovery-all_recipients": "on",
            "discovery-ignore_inactive_days": 30, "discovery-max_concurrency": 4}
    response = client.post(url, form)
    assert response.status_code == 302, response.text[-2000:]
    connector.refresh_from_db()
    assert connector.online_tenant == tenant.tenant_id and connector.get_password() == tenant.app_credential

    before = connector.password_encrypted
    call_command("rotate_credential_key", "--new-key", stdout=io.StringIO())
    connector.refresh_from_db()
    assert connector.password_encrypted != before
    assert services.connection_test(services.connection_settings(connector), exclude_connector=connector.pk).ok
