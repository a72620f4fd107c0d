"""Re-encrypt every stored connector password with the newest credential key.

    python manage.py rotate_credential_key            # keys from EASCONSOLE_CREDENTIAL_KEYS
    python manage.py rotate_credential_key --new-key  # workstation: add a key to var/credential.key, rotate, drop the old

With EASCONSOLE_CREDENTIAL_KEYS: put a new key (``python -c "from cryptography.fernet import Fernet;
print(Fernet.generate_key().decode())"``) first in the list, keep the old ones after it, run this
command, then remove the old keys from the list.
"""
import os

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from easconsole import audit, credentials
from easconsole.models import ExchangeConnector


class Command(BaseCommand):
    help = "Re-encrypt the stored connector passwords with the newest credential key."

    def add_arguments(self, parser):
        parser.add_argument("--new-key", action="store_true", help="Generate a new key into var/credential.key first, and drop the old ones after.")

    def handle(self, *args, new_key=False, **options):
        if new_key:
            if os.environ.get("EASCONSOLE_CREDENTIAL_KEYS"):
                raise CommandError("The keys come from EASCONSOLE_CREDENTIAL_KEYS: put the new key first there instead.")
            credentials.add_key_to_file()
        with transaction.atomic():
            connectors = list(ExchangeConnector.objects.select_for_update().exclude(password_encrypted=""))
            for connector in connectors:
                try:
                    connector.password_encrypted = credentials.rotate(connector.password_encrypted)
                except Exception as error:
                    raise CommandError(f"The password of {connector.name} cannot be decrypted with the keys at hand: nothing was changed.") from error
                connector.save(update_fields=["password_encrypted"])
            audit.record(user=None, action="rotate credential key", message=f"{len(connectors)} stored password(s) re-encrypted.")
        if new_key:
            credentials.keep_only_newest_key_in_file()
        self.stdout.write(f"Re-encrypted {len(connectors)} stored password(s) with the newest key.")
