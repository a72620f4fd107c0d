"""Connector passwords: encrypted with a key of their own, and the key can be rotated."""
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from easconsole import credentials
from easconsole.models import AuditEvent, ExchangeConnector
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db


def test_key_rotation_re_encrypts_and_drops_the_old_key(settings):
    connector = ExchangeConnector(name="Contoso", site=SiteFactory(code="P01"))
    connector.set_password("Correct-Horse-9")
    connector.save()
    before, old_key = connector.password_encrypted, credentials.key_file().read_bytes()
    assert "Correct-Horse-9" not in before and old_key not in settings.SECRET_KEY.encode()

    call_command("rotate_credential_key", "--new-key", stdout=io.StringIO())
    connector.refresh_from_db()
    assert connector.password_encrypted != before
    assert connector.get_password() == "Correct-Horse-9"
    assert credentials.key_file().read_bytes() != old_key and len(credentials.key_file().read_bytes().split()) == 1
    assert AuditEvent.objects.filter(action="rotate credential key").exists()


def test_a_password_from_an_unknown_key_says_so(settings):
    connector = ExchangeConnector(name="Contoso", site=SiteFactory(code="P01"))
    connector.set_password("Correct-Horse-9")
    credentials.key_file().unlink()
    credentials.reload_keys()
    with pytest.raises(credentials.CredentialError, match="cannot be decrypted"):
        connector.get_password()


def test_a_process_follows_a_rotation_of_the_key_file_without_a_restart(settings):
    """Another process (the command) rewrote the key file: this one's cached keys are read again."""
    connector = ExchangeConnector(name="Contoso", site=SiteFactory(code="P01"))
    connector.set_password("Correct-Horse-9")  # this process now holds the old key set
    connector.save()
    path = credentials.key_file()
    old = path.read_bytes()
    from cryptography.fernet import Fernet, MultiFernet

    new = Fernet.generate_key()
    rotated = MultiFernet([Fernet(new), Fernet(old.strip())]).rotate(connector.password_encrypted.encode()).decode()
    path.write_bytes(new + b"\n")  # what the command leaves behind, written behind this process's back
    ExchangeConnector.objects.filter(pk=connector.pk).update(password_encrypted=rotated)
    connector.refresh_from_db()
    assert connector.get_password() == "Correct-Horse-9"
    fresh = credentials.encrypt("Another-1")  # new secrets are encrypted with the new key, never the dropped one
    assert Fernet(new).decrypt(fresh.encode()) == b"Another-1"


def test_keys_from_the_environment_say_what_the_operator_does(settings, monkeypatch):
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("EASCONSOLE_CREDENTIAL_KEYS", f"{new},{old}")
    credentials.reload_keys()
    connector = ExchangeConnector(name="Contoso", site=SiteFactory(code="P01"))
    connector.password_encrypted = Fernet(old.encode()).encrypt(b"Correct-Horse-9").decode()
    connector.save()
    out = io.StringIO()
    call_command("rotate_credential_key", stdout=out)
    assert "restarted with the new key first" in out.getvalue() and "remove the old keys" in out.getvalue()
    connector.refresh_from_db()
    assert Fernet(new.encode()).decrypt(connector.password_encrypted.encode()) == b"Correct-Horse-9"

    monkeypatch.setenv("EASCONSOLE_CREDENTIAL_KEYS", old)  # a worker never restarted with the new key
    credentials.reload_keys()
    with pytest.raises(credentials.CredentialError, match="restart it with the key list that includes the newest key"):
        connector.get_password()
    with pytest.raises(CommandError, match="restart the web server and every qcluster worker"):
        call_command("rotate_credential_key", "--new-key", stdout=io.StringIO())


@pytest.mark.simulator
@pytest.mark.django_db(transaction=True)
def test_a_running_worker_takes_actions_after_a_rotation(console_server, qcluster):
    """A real django-q2 worker keeps running through ``rotate_credential_key --new-key``: the next Block reaches Exchange."""
    from django_q.models import OrmQ

    from devices.actions.services import action_request
    from devices.models import DeviceAction
    from easconsole.exchange.simulator.testing import ControlClient, running_simulator, wait_until
    from tests.console import discovered, installed_connector
    from tests.personas import make_persona

    def done(action):
        action.refresh_from_db()
        return action.state in (DeviceAction.State.DONE, DeviceAction.State.FAILED)

    def blocked(control, device):
        return [c for c in control.calls() if c["cmdlet"] == "Set-CASMailbox"
                and c["parameters"].get("ActiveSyncBlockedDeviceIDs") == {"Add": [device.device_id]}]

    with running_simulator(devices=10) as exchange:
        control = ControlClient.for_simulator(exchange)
        first, second = discovered(installed_connector(exchange))[:2]
        OrmQ.objects.all().delete()  # installed already: drop its queued installation
        operator = make_persona("operator")
        before = action_request(device=first, kind=DeviceAction.Kind.BLOCK, user=operator)
        wait_until(lambda: done(before), timeout=30, interval=0.2, message="the worker took the first Block")
        assert before.state == DeviceAction.State.DONE and blocked(control, first)  # the worker holds the old key now

        out = io.StringIO()
        call_command("rotate_credential_key", "--new-key", stdout=out)
        assert "no restart is needed" in out.getvalue()
        after = action_request(device=second, kind=DeviceAction.Kind.BLOCK, user=operator)
        wait_until(lambda: done(after), timeout=30, interval=0.2, message="the worker took the Block after the rotation")
        assert after.state == DeviceAction.State.DONE, after.error
        assert blocked(control, second)
        control.close()
