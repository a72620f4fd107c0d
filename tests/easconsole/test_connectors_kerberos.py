"""A connector as real Exchange is set up: Kerberos against a real MIT KDC (install, discovery, a wipe, the
failures the wizard shows), and HTTPS with the organization's own CA uploaded to the connector."""
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.urls import reverse

from devices.actions import services as actions
from devices.models import DeviceAction
from easconsole import tasks
from easconsole.exchange import kerberos
from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT, running_simulator, wait_until
from easconsole.forms.connectors import AccountForm
from easconsole.models import AuditEvent, ExchangeConnector
from easconsole.services import connectors as services
from tests.conftest import KERBEROS_REALM
from tests.console import discovered, installed_connector
from tests.factories import SiteFactory
from tests.personas import make_persona

pytestmark = [pytest.mark.django_db, pytest.mark.simulator]


# ---- Kerberos ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def exchange(kdc):
    with running_simulator(devices=25, auth=("kerberos",), keytab=kdc.keytab) as sim:
        yield sim


@pytest.mark.kdc
def test_kerberos_connector_installs_discovers_and_wipes_with_encryption(exchange, kdc, control):
    listener = exchange.listeners["EXCAS01"]
    listener.requests.clear()
    connector = installed_connector(exchange, authentication="kerberos", kerberos_realm=KERBEROS_REALM,
                                    kerberos_kdc=kdc.address)
    assert connector.organization_name == "Contoso" and connector.server_in_use == "EXCAS01"

    devices = discovered(connector)
    assert len(devices) == 25

    device = next(d for d in devices if d.status == "DeviceOk" and d.is_remote_wipe_supported is not False)
    action = actions.action_request(device=device, kind=DeviceAction.Kind.WIPE, user=make_persona("operator"))
    actions.action_execute(action.pk)
    action.refresh_from_db()
    assert action.state == DeviceAction.State.SENT, action.error
    [wipe] = [c for c in control.calls(control.since) if c["cmdlet"] == "Clear-ActiveSyncDevice"]
    assert wipe["parameters"]["Identity"] == device.identity and wipe["account"] == DEFAULT_ACCOUNT[0]
    # Install, discovery and the wipe all went over Kerberos with message encryption.
    assert set(listener.requests) == {("kerberos", True)} and listener.requests[("kerberos", True)] > 10


@pytest.mark.kdc
def test_the_wizards_connection_test_says_what_is_wrong(exchange, kdc, control):
    connector = ExchangeConnector(authentication="kerberos", username=DEFAULT_ACCOUNT[0], port=exchange.port,
                                  kerberos_realm=KERBEROS_REALM, kerberos_kdc=kdc.address)
    servers = [("HQ", exchange.server_address("EXCAS01"))]
    wrong = services.connection_test(services.connection_settings(connector, servers, "not-it"))
    assert not wrong.ok and f"refused the password of easadmin@{KERBEROS_REALM}" in wrong.message
    no_spn = services.connection_test(services.connection_settings(connector, [("HQ", "cas7.contoso.test")],
                                                                   DEFAULT_ACCOUNT[1]))
    assert not no_spn.ok and "no service principal HTTP/cas7.contoso.test" in no_spn.message
    assert services.connection_test(services.connection_settings(connector, servers, DEFAULT_ACCOUNT[1])).ok


@pytest.mark.kdc
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_installs_a_kerberos_connector(exchange, kdc, console_server, qcluster):
    """The worker is another process (django-q2 forks its own too): it builds its own Kerberos configuration."""
    connector = ExchangeConnector(name="Contoso", site=SiteFactory(code="P09"), authentication="kerberos",
                                  username=DEFAULT_ACCOUNT[0], port=exchange.port, kerberos_realm=KERBEROS_REALM,
                                  kerberos_kdc=kdc.address)
    services.connector_save(connector=connector, servers=[("HQ", exchange.server_address("EXCAS01"))], user=None,
                            password=DEFAULT_ACCOUNT[1])
    installed = wait_until(lambda: ExchangeConnector.objects.filter(
        pk=connector.pk, state__in=[ExchangeConnector.State.INSTALLED, ExchangeConnector.State.FAILED]).first(),
        timeout=60, interval=0.2, message="the worker installed the connector")
    assert installed.state == ExchangeConnector.State.INSTALLED, installed.state_message
    assert installed.organization_name == "Contoso"


@pytest.mark.kdc
def test_a_password_the_kdc_refuses_stops_the_retries_but_a_missing_spn_does_not(exchange, kdc):
    """Signing in every hour with a wrong password would lock the service account out; an SPN can be registered."""
    site = SiteFactory(code="P03")
    for name, server, password, expected in (
            ("Wrong password", exchange.server_address("EXCAS01"), "not-it", ExchangeConnector.State.AUTH_FAILED),
            ("No SPN", "cas8.contoso.test", DEFAULT_ACCOUNT[1], ExchangeConnector.State.FAILED)):
        connector = ExchangeConnector(name=name, site=site, authentication="kerberos", username=DEFAULT_ACCOUNT[0],
                                      port=exchange.port, kerberos_realm=KERBEROS_REALM, kerberos_kdc=kdc.address)
        services.connector_save(connector=connector, servers=[("HQ", server)], user=None, password=password)
        tasks.install_connector(connector.pk)
        connector.refresh_from_db()
        assert connector.state == expected, connector.state_message
    assert "no service principal HTTP/cas8.contoso.test" in connector.state_message


def account_form(**data):
    return AccountForm({"authentication": "kerberos", "username": "CONTOSO\\svc", "password": "pw", "port": 80,
                        "verify_tls": "on", **data})


def test_kerberos_needs_a_realm_for_a_netbios_account_and_checks_the_kdcs():
    form = account_form(kerberos_kdc="dc1.contoso.com:88, bad/name")
    if kerberos.unavailable_reason():
        pytest.skip("gssapi is not installed here: the next test covers that case")
    assert not form.is_valid()
    assert "names the NetBIOS domain CONTOSO, which is not a Kerberos realm" in form.errors["kerberos_realm"][0]
    assert form.errors["kerberos_kdc"] == ["not a KDC name or name:port: bad/name"]
    form = account_form(username="svc@contoso.com", kerberos_realm="contoso.com", kerberos_kdc="dc1.contoso.com")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["kerberos_realm"] == "CONTOSO.COM"


def test_without_the_kerberos_libraries_the_wizard_says_what_to_install(monkeypatch):
    monkeypatch.setattr(kerberos, "unavailable_reason", lambda: "Kerberos is not available on this server (the "
                        "Python package gssapi is missing): install Debian's krb5-user and libkrb5-dev")
    form = AccountForm()
    field = form.fields["authentication"]
    assert dict(field.choices)["kerberos"] == "Kerberos (unavailable on this server)"
    assert "install Debian's krb5-user and libkrb5-dev" in field.help_text
    assert form.initial["authentication"] == "negotiate"  # what works here
    chosen = account_form(kerberos_realm="CONTOSO.COM")
    assert not chosen.is_valid() and "krb5-user and libkrb5-dev" in chosen.errors["authentication"][0]


# ---- HTTPS with the organization's CA ------------------------------------------------------------------
def make_certificate(name: str, *, ca: bool = True, days: int = 30, start_days_ago: int = 1) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Fabrikam"), x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=start_days_ago))
                   .not_valid_after(now + dt.timedelta(days=days))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def test_an_uploaded_ca_bundle_is_checked():
    def errors(pem):
        form = AccountForm({"authentication": "basic", "username": "CONTOSO\\svc", "password": "pw", "port": 443,
                            "use_tls": "on", "verify_tls": "on", "ca_bundle": pem})
        form.is_valid()
        return form.errors.get("ca_bundle", [])

    assert errors("not a certificate") == ["Paste one or more PEM certificates (-----BEGIN CERTIFICATE----- ...)."]
    broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    assert errors(broken)[0].startswith("A certificate of the bundle cannot be read")
    assert errors(make_certificate("cas01.fabrikam.com", ca=False)) == [
        "CN=cas01.fabrikam.com,O=Fabrikam is not a CA certificate (it is a server's or a user's): upload the "
        "certificate of the CA that issued the Exchange servers' certificates."]
    expired = make_certificate("Old Root", days=-1, start_days_ago=400)
    assert errors(expired)[0].startswith("CN=Old Root,O=Fabrikam expired on ")
    assert errors(make_certificate("Fabrikam Root CA") + make_certificate("Fabrikam Issuing CA")) == []


@pytest.fixture(scope="module")
def tls_exchange():
    with running_simulator(devices=5, https=True, bind_base="127.0.0.51") as sim:
        yield sim


def test_https_with_the_uploaded_ca_installs_and_discovers(tls_exchange, client):
    with open(tls_exchange.ca_file) as handle:
        pem = handle.read()
    connector = installed_connector(tls_exchange, use_tls=True, ca_bundle=pem)
    assert len(discovered(connector)) == 5
    event = AuditEvent.objects.get(action="create", object_repr=connector.name)
    assert event.changes["ca_bundle"][1].startswith("CN=EAS Console simulator CA,O=EAS Console simulator (valid until")
    client.force_login(make_persona("full_admin"))
    page = client.get(reverse("easconsole:exchangeconnector_detail", args=[connector.pk])).text
    assert "Trusted CAs" in page and "CN=EAS Console simulator CA,O=EAS Console simulator (valid until" in page


def test_https_with_a_wrong_ca_is_refused_naming_the_certificate(tls_exchange):
    connector = ExchangeConnector(name="Fabrikam CA", site=SiteFactory(code="P02"), authentication="basic",
                                  username=DEFAULT_ACCOUNT[0], port=tls_exchange.port, use_tls=True,
                                  ca_bundle=make_certificate("Fabrikam Root CA"))
    services.connector_save(connector=connector, servers=[("HQ", tls_exchange.server_address("EXCAS01"))], user=None,
                            password=DEFAULT_ACCOUNT[1])
    tasks.install_connector(connector.pk)
    connector.refresh_from_db()
    assert connector.state == ExchangeConnector.State.FAILED
    address = tls_exchange.server_address("EXCAS01")
    assert "certificate verify failed" in connector.state_message
    assert (f"the server presented the certificate CN={address},O=EAS Console simulator for localhost, {address}"
            in connector.state_message)
    assert "issued by CN=EAS Console simulator CA,O=EAS Console simulator" in connector.state_message
    assert "the connector trusts only CN=Fabrikam Root CA,O=Fabrikam" in connector.state_message
