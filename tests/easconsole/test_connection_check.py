"""A wrong password never locks the service account out; Check connection now; Basic over HTTP is flagged.

Through the simulated organization: the sign-ins Exchange refused are counted at the far end.
"""
import base64

import pytest
from django.urls import reverse
from django_q.models import Schedule

from easconsole import logs, tasks
from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT, READONLY_ACCOUNT, running_simulator
from easconsole.models import AuditEvent, ExchangeConnector, StatusMessage
from easconsole.services import connectors as services
from tests.factories import SiteFactory
from tests.personas import make_persona

pytestmark = [pytest.mark.django_db, pytest.mark.simulator]
WIZARD = "exchange_connector_wizard-current_step"


@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=10) as sim:
        yield sim


@pytest.fixture
def control(control):
    yield control
    control.grant(READONLY_ACCOUNT[0], ["Clear-ActiveSyncDevice", "Set-CASMailbox"])


@pytest.fixture
def refused_sign_ins(exchange, monkeypatch):
    """The Basic sign-ins Exchange refused (account names), as its security log would count them."""
    authenticator = next(iter(exchange.listeners.values())).authenticator  # every server shares it
    refused, original = [], authenticator._basic

    def counting(value):
        account = original(value)
        if account is None:
            refused.append(base64.b64decode(value).decode("latin-1").partition(":")[0])
        return account

    monkeypatch.setattr(authenticator, "_basic", counting)
    return refused


def add_connector(exchange, *, password=DEFAULT_ACCOUNT[1], account=DEFAULT_ACCOUNT[0], name="Contoso", site=None):
    connector = ExchangeConnector(name=name, site=site or SiteFactory(code="P01"), authentication="basic", username=account,
                                  port=exchange.port)
    return services.connector_save(connector=connector, servers=[("HQ", exchange.server_address("EXCAS01"))], user=None,
                                   password=password)


def test_a_refused_password_is_tried_once_then_not_again_until_it_changes(exchange, control, refused_sign_ins, client):
    connector = add_connector(exchange, password="Wrong-Password-1")
    assert "not retrying until it is changed" in tasks.install_connector(connector.pk)
    assert refused_sign_ins == [DEFAULT_ACCOUNT[0]]
    connector.refresh_from_db()
    assert connector.state == ExchangeConnector.State.AUTH_FAILED and connector.next_retry_at is None
    assert "HTTP 401" in connector.state_message
    assert not Schedule.objects.filter(name=services.install_retry_name(connector.pk)).exists()  # no hourly retry
    message = StatusMessage.objects.get(connector=connector)
    assert message.severity == "error" and "does not try again until the password is changed" in message.description
    assert any("not retrying until the password is changed" in line.message for line in logs.tail("SiteComp.log"))
    client.force_login(make_persona("full_admin"))
    page = client.get(connector.get_absolute_url()).text
    assert "Password refused; waiting for a new password" in page
    assert "Change the password in Properties to install the connector again." in page
    assert "does not try again until the password is changed" in client.get(reverse("easconsole:statusmessage_list")).text

    services.connector_save(connector=connector, servers=[("HQ", exchange.server_address("EXCAS01"))], user=None,
                            password=DEFAULT_ACCOUNT[1])  # Properties: the administrator types the right password
    connector.refresh_from_db()
    assert connector.state == ExchangeConnector.State.FLAGGED
    assert tasks.install_connector(connector.pk) == "Installed Contoso."
    assert refused_sign_ins == [DEFAULT_ACCOUNT[0]]  # the wrong password was tried exactly once


def test_other_failures_keep_the_hourly_retry(exchange, control, refused_sign_ins):
    connector = add_connector(exchange)
    exchange.stop_server("EXCAS01")
    exchange.stop_server("EXCAS02")
    assert "retrying in 60 minutes" in tasks.install_connector(connector.pk)
    connector.refresh_from_db()
    assert connector.state == ExchangeConnector.State.FAILED and connector.next_retry_at is not None
    assert Schedule.objects.filter(name=services.install_retry_name(connector.pk)).exists() and not refused_sign_ins


def test_check_connection_now_on_a_good_and_a_broken_connector(exchange, control, client):
    admin = make_persona("full_admin")
    good = add_connector(exchange)
    tasks.install_connector(good.pk)
    control.deny(READONLY_ACCOUNT[0], ["Clear-ActiveSyncDevice", "Set-CASMailbox"])
    broken = add_connector(exchange, name="Fabrikam", account=READONLY_ACCOUNT[0], password=READONLY_ACCOUNT[1],
                           site=SiteFactory(code="P02"))
    client.force_login(admin)
    assert 'type="submit">Check connection now</button>' in client.get(good.get_absolute_url()).text

    response = client.post(reverse("easconsole:exchangeconnector_check"), {"connector": good.pk})
    assert response.status_code == 302 and response["Location"] == good.get_absolute_url()
    good.refresh_from_db()
    assert good.check_ok is True and good.checked_at is not None
    assert good.check_message == "Connected to Contoso through EXCAS01 (site HQ)."
    page = client.get(good.get_absolute_url()).text
    assert "Last connection check" in page and "Connected to Contoso through EXCAS01" in page

    the_list = reverse("easconsole:exchangeconnector_list") + "?sort=name"
    response = client.post(reverse("easconsole:exchangeconnector_check"), {"connector": [good.pk, broken.pk], "next": the_list})
    assert response["Location"] == the_list  # from the list's ribbon, back to it
    assert client.post(reverse("easconsole:exchangeconnector_check"),
                       {"connector": good.pk, "next": "https://evil.example/"})["Location"] == good.get_absolute_url()
    broken.refresh_from_db()
    assert broken.check_ok is False
    assert broken.check_missing == {"Clear-ActiveSyncDevice": "Recipient Management", "Set-CASMailbox": "Recipient Management"}
    page = client.get(broken.get_absolute_url()).text
    assert "Missing cmdlets" in page and "Clear-ActiveSyncDevice — granted by the role group Recipient Management" in page
    assert broken.state == ExchangeConnector.State.FLAGGED  # a check installs nothing

    events = AuditEvent.objects.filter(action="check connection").order_by("pk")
    assert [(e.object_repr, e.outcome, e.username) for e in events] == [
        ("Contoso", "success", admin.username), ("Contoso", "success", admin.username), ("Fabrikam", "failure", admin.username),
        ("Contoso", "success", admin.username)]
    assert DEFAULT_ACCOUNT[1] not in page and READONLY_ACCOUNT[1] not in str([e.message for e in events])


def test_check_connection_now_with_everything_down_says_why(exchange, control, client):
    connector = add_connector(exchange)
    for name in ("EXCAS01", "EXCAS02", "EXCAS03", "EXMBX01", "EXMBX02"):
        exchange.stop_server(name)
    client.force_login(make_persona("full_admin"))
    client.post(reverse("easconsole:exchangeconnector_check"), {"connector": connector.pk})
    connector.refresh_from_db()
    assert connector.check_ok is False and "no Exchange server answered in any AD site" in connector.check_message


def test_only_modify_on_the_site_may_check(exchange, control, client):
    connector = add_connector(exchange)
    client.force_login(make_persona("operator"))
    assert client.post(reverse("easconsole:exchangeconnector_check"), {"connector": connector.pk}).status_code == 403
    connector.refresh_from_db()
    assert connector.checked_at is None and not AuditEvent.objects.filter(action="check connection").exists()
    client.force_login(make_persona("analyst"))
    page = client.get(connector.get_absolute_url()).text
    assert 'type="submit">Check connection now</button>' not in page
    the_list = client.get(reverse("easconsole:exchangeconnector_list")).text
    assert "Contoso" in the_list and 'name="connector"' not in the_list and "Check connection now" not in the_list


def test_basic_over_plain_http_is_flagged_on_the_connector_page(exchange, control, client):
    connector = add_connector(exchange)
    client.force_login(make_persona("full_admin"))
    assert "The password crosses the network in clear." in client.get(connector.get_absolute_url()).text
    ExchangeConnector.objects.filter(pk=connector.pk).update(authentication="ntlm")
    assert "The password crosses the network in clear." not in client.get(connector.get_absolute_url()).text


# --- the wizard's Finish ------------------------------------------------------------------------------

def wizard_steps(exchange, site, password):
    return [
        ("general", {"general-name": "Contoso", "general-environment": "onprem", "general-site": site.pk,
                     "general-servers": f"HQ: {exchange.server_address('EXCAS01')}"}),
        ("account", {"account-authentication": "basic", "account-username": DEFAULT_ACCOUNT[0], "account-password": password,
                     "account-port": exchange.port, "account-verify_tls": "on"}),
        ("discovery", {"discovery-full_discovery_days": 1, "discovery-full_discovery_time": "02:00",
                       "discovery-delta_interval_minutes": 240, "discovery-all_recipients": "on",
                       "discovery-ignore_inactive_days": 30, "discovery-max_concurrency": 4}),
        ("settings", {}),
        ("access", {"access-default_access_level": "Allow", "access-rules-TOTAL_FORMS": 0, "access-rules-INITIAL_FORMS": 0,
                    "access-rules-MIN_NUM_FORMS": 0, "access-rules-MAX_NUM_FORMS": 1000}),
    ]


def walk_to_summary(client, exchange, password):
    url = reverse("easconsole:exchangeconnector_add")
    client.get(url)
    for step, data in wizard_steps(exchange, SiteFactory(code="P01"), password):
        response = client.post(url, {WIZARD: step, **data})
        assert response.status_code == 200 and "is-invalid" not in response.text, (step, response.text[-3000:])
    assert "Summary" in response.text
    return response


def test_finish_refuses_to_save_a_connector_whose_test_failed(exchange, control, client, refused_sign_ins):
    client.force_login(make_persona("full_admin"))
    summary = walk_to_summary(client, exchange, "Wrong-Password-1")
    assert "Connection test failed." in summary.text and "HTTP 401" in summary.text
    assert "The password crosses the network in clear." in summary.text  # Basic on port 80 here
    assert refused_sign_ins == [DEFAULT_ACCOUNT[0]]

    url = reverse("easconsole:exchangeconnector_add")
    refused = client.post(url, {WIZARD: "summary"})
    assert refused.status_code == 200 and "The connector was not saved." in refused.text
    assert not ExchangeConnector.objects.exists()
    assert refused_sign_ins == [DEFAULT_ACCOUNT[0]]  # Finish did not sign in again with the same settings

    saved = client.post(url, {WIZARD: "summary", "summary-save_unverified": "on"})  # the deliberate choice
    connector = ExchangeConnector.objects.get()
    assert saved.status_code == 302 and saved["Location"].endswith(f"/{connector.pk}/progress/")
    event = AuditEvent.objects.get(action="create", object_type="Exchange Server connector")
    assert event.message == "Saved without a successful connection test, as the administrator chose."


def test_finish_saves_after_a_passing_test_without_signing_in_again(exchange, control, client):
    client.force_login(make_persona("full_admin"))
    summary = walk_to_summary(client, exchange, DEFAULT_ACCOUNT[1])
    assert "Connection test succeeded." in summary.text and "save_unverified" not in summary.text
    tests_run = len([c for c in control.calls(control.since) if c["cmdlet"] == "Get-Command"])
    response = client.post(reverse("easconsole:exchangeconnector_add"), {WIZARD: "summary"})
    assert response.status_code == 302
    assert ExchangeConnector.objects.get().name == "Contoso"
    assert len([c for c in control.calls(control.since) if c["cmdlet"] == "Get-Command"]) == tests_run
    assert AuditEvent.objects.get(action="create", object_type="Exchange Server connector").message == ""
