"""Kerberos to the simulated organization against a real MIT KDC: the product's pypsrp path with message
encryption, ticket reuse, each connector's own configuration, and every failure in words."""
from __future__ import annotations

import socket
import threading
from typing import Any

import pytest

from easconsole.exchange import kerberos
from easconsole.exchange.errors import ExchangeConnectionError
from easconsole.exchange.gateway import PsrpGateway
from easconsole.exchange.simulator import kdc as kdc_runner
from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT, READONLY_ACCOUNT, running_simulator
from tests.conftest import KERBEROS_REALM, SIMULATED_SERVERS, kdc_needed
from tests.exchange.conftest import settings_for

pytestmark = [pytest.mark.simulator, pytest.mark.kdc]


@pytest.fixture(scope="module")
def sim(kdc):
    with running_simulator(devices=30, auth=("kerberos",), keytab=kdc.keytab) as running:
        yield running


def kerberos_settings(sim: Any, kdc: Any, **overrides: Any):
    return settings_for(sim, auth="kerberos", **{"realm": KERBEROS_REALM, "kdc": kdc.address, **overrides})


def failure(settings) -> ExchangeConnectionError:
    with pytest.raises(ExchangeConnectionError) as caught:
        with PsrpGateway(settings) as gateway:
            gateway.organization()
    return caught.value


def as_requests(kdc, principal: str) -> int:
    return sum(1 for line in kdc.log().splitlines() if "AS_REQ" in line and "ISSUE" in line and principal in line)


def test_discovery_reads_over_kerberos_with_message_encryption(sim, kdc):
    listener = sim.listeners["EXCAS01"]
    listener.requests.clear()
    with PsrpGateway(kerberos_settings(sim, kdc)) as gateway:
        assert gateway.organization().name == "Contoso"
        devices = list(gateway.devices())
    assert len(devices) == 30
    # Every SOAP request the server served came in over Kerberos, encrypted (MS-WSMV message encryption).
    assert listener.requests[("kerberos", True)] > 3 and set(listener.requests) == {("kerberos", True)}


def test_the_ticket_is_reused_until_the_password_changes(sim, kdc):
    settings = kerberos_settings(sim, kdc, account=READONLY_ACCOUNT)
    with PsrpGateway(settings) as gateway:
        gateway.organization()
    asked = as_requests(kdc, f"easviewer@{KERBEROS_REALM}")
    with PsrpGateway(settings) as gateway:  # a second session: the ticket in the connector's ccache serves
        gateway.organization()
    assert as_requests(kdc, f"easviewer@{KERBEROS_REALM}") == asked
    # A wrong password is never covered up by the ticket that the right one obtained.
    error = failure(kerberos_settings(sim, kdc, account=(READONLY_ACCOUNT[0], "not-the-password")))
    assert error.kind == "authentication"
    assert f"refused the password of easviewer@{KERBEROS_REALM}" in error.reason


def test_wrong_password_is_named_with_what_to_do(sim, kdc):
    error = failure(kerberos_settings(sim, kdc, account=(DEFAULT_ACCOUNT[0], "wrong-password")))
    assert error.kind == "authentication"
    assert str(error) == (f"Talking to Exchange on {sim.server_address('EXCAS01')} failed: the KDC {kdc.address} refused the password of "
                          f"easadmin@{KERBEROS_REALM} (pre-authentication failed): correct the connection account's "
                          f"password; repeated attempts can lock the account out.")


def test_unknown_account_is_named(sim, kdc):
    error = failure(kerberos_settings(sim, kdc, account=("CONTOSO\\nobody", "whatever")))
    assert f"does not know the account nobody@{KERBEROS_REALM}: check the user name and the realm" in error.reason


def test_a_server_without_an_http_spn_is_named_with_setspn(sim, kdc):
    settings = settings_for(sim, auth="kerberos", realm=KERBEROS_REALM, kdc=kdc.address)
    error = failure(type(settings)(**{**settings.__dict__, "sites": {"HQ": "cas99.contoso.test"}}))
    assert error.kind == "configuration"  # the domain's side: retried hourly, unlike a refused password
    assert "the domain has no service principal HTTP/cas99.contoso.test (SPN)" in error.reason
    assert "setspn -S HTTP/cas99.contoso.test" in error.reason


def test_no_kdc_reachable_is_named():
    kdc_needed()
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens on it once closed
    settings = settings_for_address("127.0.0.11", realm="NOWHERE.TEST", kdc=f"127.0.0.1:{port}")
    error = failure(settings)
    assert error.reason == (f"no KDC of NOWHERE.TEST answered (the KDC 127.0.0.1:{port}): check that a domain "
                            f"controller is reachable on TCP port 88, or give the KDC explicitly")


def test_a_netbios_account_without_a_realm_asks_for_the_realm():
    kdc_needed()
    error = failure(settings_for_address("127.0.0.11", realm="", kdc=""))
    assert error.kind == "configuration"
    assert "CONTOSO\\easadmin names the NetBIOS domain CONTOSO, which is not a Kerberos realm" in error.reason


def test_clock_skew_is_named():
    """The KDC runs an hour ahead (libfaketime): the service ticket is refused for clock skew."""
    kdc_needed(skew=True)
    users = {"easadmin": DEFAULT_ACCOUNT[1]}
    with kdc_runner.running_kdc("SKEW.TEST", users=users, services=[f"HTTP/{a}" for a in SIMULATED_SERVERS],
                                clock_offset="+1h") as skewed:
        error = failure(settings_for_address("127.0.0.11", realm="SKEW.TEST", kdc=skewed.address))
    assert "clocks differ too much (clock skew too great)" in error.reason and error.kind == "configuration"
    assert "synchronise this server's clock with the domain (NTP)" in error.reason


def test_connectors_in_two_realms_keep_their_own_tickets_from_threads(sim, kdc):
    """Two realms served at once by one process: one krb5.conf lists both, each connector has its own ccache."""
    users = {"easadmin": "Other-Realm-Pass1"}
    # Its servers have their own addresses (a server belongs to one realm); its keys join the one keytab
    # the simulator's acceptor reads in this process.
    with kdc_runner.running_kdc("FABRIKAM.TEST", users=users, services=[f"HTTP/127.0.0.{n}" for n in range(21, 26)],
                                keytab=kdc.keytab) as other:
        with running_simulator(devices=5, auth=("kerberos",), keytab=kdc.keytab, bind_base="127.0.0.21",
                               accounts={"CONTOSO\\easadmin": "Other-Realm-Pass1"}) as fabrikam:
            contoso_settings = kerberos_settings(sim, kdc, sites={"HQ": "EXCAS01"})
            fabrikam_settings = settings_for(fabrikam, auth="kerberos", realm="FABRIKAM.TEST", kdc=other.address,
                                             account=("CONTOSO\\easadmin", "Other-Realm-Pass1"), sites={"HQ": "EXCAS01"})
            results: dict[str, Any] = {}

            def read(label, settings):
                try:
                    with PsrpGateway(settings) as gateway:
                        results[label] = len(list(gateway.devices()))
                except Exception as error:  # reported below with the other thread's result
                    results[label] = error

            threads = [threading.Thread(target=read, args=item) for item in
                       (("contoso", contoso_settings), ("fabrikam", fabrikam_settings))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
    assert results == {"contoso": 30, "fabrikam": 5}
    assert kerberos.ccache_for(contoso_settings) != kerberos.ccache_for(fabrikam_settings)
    text = kerberos.configuration.text()
    assert f"kdc = {kdc.address}" in text and f"kdc = {other.address}" in text


def settings_for_address(address: str, **kerberos_fields: Any):
    from easconsole.exchange.values import ConnectionSettings

    return ConnectionSettings(sites={"HQ": address}, port=1, auth="kerberos", username=DEFAULT_ACCOUNT[0],
                              password=DEFAULT_ACCOUNT[1], **kerberos_fields)


def test_the_generated_configuration_never_touches_the_hosts():
    import os

    kdc_needed()
    assert os.environ["KRB5_CONFIG"] == kerberos.configuration.path
    assert kerberos.configuration.path.startswith(kerberos.configuration.directory)
    assert "/etc/krb5.conf" not in os.environ["KRB5_CONFIG"]


def test_a_keytab_instead_of_the_password(sim, kdc, tmp_path):
    keytab = tmp_path / "easadmin.keytab"
    kdc.kadmin(f"ktadd -norandkey -k {keytab} easadmin@{KERBEROS_REALM}")  # the keys of the current password
    with PsrpGateway(kerberos_settings(sim, kdc, account=(DEFAULT_ACCOUNT[0], ""), keytab=str(keytab))) as gateway:
        assert gateway.organization().name == "Contoso"
    error = failure(kerberos_settings(sim, kdc, account=(DEFAULT_ACCOUNT[0], ""), keytab=str(tmp_path / "none")))
    assert f"the keytab {tmp_path / 'none'} does not exist" in error.reason


def test_pypsrp_gets_the_connectors_ccache_and_never_the_password():
    from easconsole.exchange.transport import wsman_options
    from easconsole.exchange.values import ConnectionSettings

    settings = ConnectionSettings(sites={"HQ": "cas01.contoso.com"}, auth="kerberos", username="svc@contoso.com",
                                  password="secret-pass", realm="")
    options = wsman_options(settings, "cas01.contoso.com")
    [credential] = options["username"]
    assert options["password"] is None and "secret-pass" not in repr(options)
    assert credential.principal == "svc@CONTOSO.COM" and credential.ccache == kerberos.ccache_for(settings)
    assert options["negotiate_service"] == "HTTP" and options["encryption"] == "auto"
    negotiate = wsman_options(ConnectionSettings(sites={"HQ": "cas01"}, auth="negotiate", username="u", password="p"), "cas01")
    assert negotiate["negotiate_service"] == "HTTP" and negotiate["password"] == "p"
