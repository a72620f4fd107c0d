"""Exchange Server connectors through the simulated organization: install, failover, preflight, uniqueness, secrets."""
import datetime as dt

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from easconsole import logs, tasks
from easconsole.models import AuditEvent, ExchangeConnector, StatusMessage
from easconsole.services import connectors as services
from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT, READONLY_ACCOUNT, running_simulator
from tests.factories import SiteFactory
from tests.personas import make_persona

pytestmark = [pytest.mark.django_db, pytest.mark.simulator]


@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=20) as sim:
        yield sim


@pytest.fixture
def control(control):
    yield control
    control.grant(READONLY_ACCOUNT[0], ["Get-ExchangeServer", "Set-CASMailbox", "Clear-ActiveSyncDevice"])


def add_connector(exchange, *, name="Contoso", account=DEFAULT_ACCOUNT, site=None, servers=None, user=None):
    connector = ExchangeConnector(
        name=name, site=site or SiteFactory(code="P01"), authentication="basic", username=account[0], port=exchange.port,
        notification_account="",
    )
    servers = servers or [("HQ", exchange.server_address("EXCAS01")), ("Branch", exchange.server_address("EXCAS03"))]
    return services.connector_save(connector=connector, servers=servers, user=user, password=account[1])


def test_adding_flags_installation_and_the_task_installs_it(exchange, control, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        connector = add_connector(exchange, user=make_persona("full_admin"))
    assert connector.state == ExchangeConnector.State.FLAGGED and len(callbacks) == 1
    assert "Component SMS_EXCHANGE_CONNECTOR flagged for installation" in [l.message for l in logs.tail("SiteComp.log")]

    assert tasks.install_connector(connector.pk) == "Installed Contoso."
    connector.refresh_from_db()
    assert connector.state == ExchangeConnector.State.INSTALLED
    assert connector.organization_name == "Contoso" and connector.organization_guid is not None
    assert (connector.server_in_use, connector.ad_site_in_use) == ("EXCAS01", "HQ")
    assert {s["name"] for s in connector.known_servers} >= {"EXCAS01", "EXCAS02", "EXMBX01"}
    assert StatusMessage.objects.get(connector=connector).message_id == 1015
    assert any(l.message.startswith("STATMSG: ID=1015") for l in logs.tail("SiteComp.log"))
    calls = [c["cmdlet"] for c in control.calls()]
    assert "Set-ADServerSettings" in calls and "Get-Command" in calls


def test_configured_cas_down_uses_another_cas_of_the_site(exchange, control):
    connector = add_connector(exchange)
    exchange.stop_server("EXCAS01")
    assert tasks.install_connector(connector.pk) == "Installed Contoso."
    connector.refresh_from_db()
    assert connector.server_in_use == "EXCAS02"
    assert "Failed to open runspace for site HQ" in [l.message for l in logs.tail("EasDisc.log", min_severity=2)]


def test_every_cas_of_the_site_down_uses_a_mailbox_server(exchange, control):
    connector = add_connector(exchange, servers=[("HQ", exchange.server_address("EXCAS01"))])
    tasks.install_connector(connector.pk)  # learns the servers of the organization
    connector.refresh_from_db()
    exchange.stop_server("EXCAS01")
    exchange.stop_server("EXCAS02")
    services.connector_reinstall(connector=connector, user=None)
    assert tasks.install_connector(connector.pk) == "Installed Contoso."
    connector.refresh_from_db()
    assert connector.server_in_use == "EXMBX01"


def test_everything_down_fails_and_retries_in_an_hour(exchange, control):
    connector = add_connector(exchange)
    for name in ("EXCAS01", "EXCAS02", "EXCAS03", "EXMBX01", "EXMBX02"):
        exchange.stop_server(name)
    before = timezone.now()
    assert "retrying in 60 minutes" in tasks.install_connector(connector.pk)
    connector.refresh_from_db()
    assert connector.state == ExchangeConnector.State.FAILED and connector.state_message
    retry = Schedule.objects.get(name=services.install_retry_name(connector.pk))
    assert retry.func == "easconsole.tasks.install_connector"
    assert dt.timedelta(minutes=59) < retry.next_run - before < dt.timedelta(minutes=61)
    failure = StatusMessage.objects.get(connector=connector)
    assert failure.severity == "error" and "retries at" in failure.description
    services.connector_delete(connector=connector, user=None)
    assert not Schedule.objects.filter(name=services.install_retry_name(connector.pk)).exists()


def test_account_lacking_cmdlets_is_told_which_and_why(exchange, control):
    control.deny(READONLY_ACCOUNT[0], ["Clear-ActiveSyncDevice", "Set-CASMailbox"])
    connector = add_connector(exchange, account=READONLY_ACCOUNT)
    tasks.install_connector(connector.pk)
    connector.refresh_from_db()
    assert connector.state == ExchangeConnector.State.FAILED
    assert "Clear-ActiveSyncDevice (granted by Recipient Management)" in connector.state_message
    assert "Set-CASMailbox (granted by Recipient Management)" in connector.state_message
    assert "Invoking cmdlet Clear-ActiveSyncDevice failed" in [l.message for l in logs.tail("EasDisc.log")]


def test_a_second_connector_for_the_same_organization_is_refused(exchange, control):
    first = add_connector(exchange)
    tasks.install_connector(first.pk)
    second = add_connector(exchange, name="Contoso again", site=SiteFactory(code="P02"),
                           servers=[("Branch", exchange.server_address("EXCAS03"))])
    tasks.install_connector(second.pk)
    second.refresh_from_db()
    assert second.state == ExchangeConnector.State.FAILED
    assert "already managed by the connector Contoso" in second.state_message
    assert second.organization_guid is None


def test_the_password_is_never_stored_logged_or_shown_in_clear(exchange, control, client):
    password = DEFAULT_ACCOUNT[1]
    admin = make_persona("full_admin")
    connector = add_connector(exchange, user=admin)
    tasks.install_connector(connector.pk)
    with connection.cursor() as cursor:
        for table in ("easconsole_exchangeconnector", "easconsole_auditevent", "easconsole_statusmessage", "django_q_schedule"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (fixed table names)
            assert password not in repr(cursor.fetchall()), table
    for name in logs.LOGS:
        path = logs.log_dir() / name
        assert not path.exists() or password not in path.read_text()
    client.force_login(admin)
    for url in (reverse("easconsole:exchangeconnector_detail", args=[connector.pk]),
                reverse("easconsole:exchangeconnector_edit", args=[connector.pk])):
        page = client.get(url).text
        assert password not in page and connector.password_encrypted not in page
    assert connector.get_password() == password


def test_properties_keep_the_password_when_left_empty_and_audit_changes(exchange, control, client):
    connector = add_connector(exchange)
    client.force_login(make_persona("full_admin"))
    form = {
        "general-name": "Contoso HQ", "general-environment": "onprem", "general-site": connector.site.pk,
        "general-servers": f"HQ: {exchange.server_address('EXCAS01')}",
        "account-authentication": "basic", "account-username": DEFAULT_ACCOUNT[0], "account-port": exchange.port,
        "account-verify_tls": "on", "discovery-full_discovery_days": 1, "discovery-full_discovery_time": "02:00",
        "discovery-delta_interval_minutes": 240, "discovery-all_recipients": "on", "discovery-ignore_inactive_days": 30,
        "discovery-max_concurrency": 4,
    }
    response = client.post(reverse("easconsole:exchangeconnector_edit", args=[connector.pk]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    connector.refresh_from_db()
    assert connector.name == "Contoso HQ" and connector.get_password() == DEFAULT_ACCOUNT[1]
    event = AuditEvent.objects.filter(action="modify", object_type="Exchange Server connector").get()
    assert event.changes["name"] == ["Contoso", "Contoso HQ"] and "servers" in event.changes
    assert connector.state == ExchangeConnector.State.FLAGGED  # servers changed: installed again


def test_the_notification_account_must_have_a_mailbox(exchange, control):
    settings = services.connection_settings(
        ExchangeConnector(authentication="basic", username=DEFAULT_ACCOUNT[0], port=exchange.port),
        [("HQ", exchange.server_address("EXCAS01"))], DEFAULT_ACCOUNT[1])
    result = services.connection_test(settings, notification_account="nobody@contoso.com")
    assert not result.ok and result.message == "The notification account nobody@contoso.com has no mailbox in Contoso."
    with services.exchange.PsrpGateway(settings) as gateway:
        mailbox = next(gateway.recipients(result_size=1)).primary_smtp_address
    assert services.connection_test(settings, notification_account=mailbox).ok
