"""Connector passwords: encrypted with a key of their own, and the key can be rotated."""
import io

import pytest
from django.core.management import call_command

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
