"""Re-encrypt every stored connector password with the newest credential key.

    python manage.py rotate_credential_key            # keys from EASCONSOLE_CREDENTIAL_KEYS
    python manage.py rotate_credential_key --new-key  # workstation: add a key to var/credential.key, rotate, drop the old

With the key file (``var/credential.key``), the running web server and django-q2 workers read the
new key on their own: nothing needs a restart.

With EASCONSOLE_CREDENTIAL_KEYS, a process only ever has the keys it was started with, so:
1. generate a key (``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``),
   put it first in the list, keep the old ones after it;
2. restart the web server and every ``qcluster`` worker with that list (they can still read the
   passwords encrypted with the old key, and now the new one too);
3. run this command;
4. remove the old keys from the list and restart them again.
A worker that missed step 2 cannot decrypt the passwords after step 3 until it is restarted.
"""
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from easconsole import audit, credentials
from easconsole.models import DirectorySecret, ExchangeConnector

ENVIRONMENT_STEPS = (
    "The keys come from EASCONSOLE_CREDENTIAL_KEYS, which a running process cannot re-read. Before this command, the web "
    "server and every qcluster worker must have been restarted with the new key first in that list (old keys after it). "
    "Now remove the old keys from the list and restart them again; a process still running with only the old keys "
    "cannot decrypt the passwords until it is restarted."
)


class Command(BaseCommand):
    help = "Re-encrypt the stored connector passwords with the newest credential key."

    def add_arguments(self, parser):
        parser.add_argument("--new-key", action="store_true", help="Generate a new key into var/credential.key first, and drop the old ones after.")

    def handle(self, *args, new_key=False, **options):
        from_environment = credentials.keys_from_environment()
        if new_key:
            if from_environment:
                raise CommandError("The keys come from EASCONSOLE_CREDENTIAL_KEYS: put the new key first there instead, then "
                                   "restart the web server and every qcluster worker before running this command.")
            credentials.add_key_to_file()
        with transaction.atomic():
            connectors = list(ExchangeConnector.objects.select_for_update().exclude(password_encrypted=""))
            for connector in connectors:
                try:
                    connector.password_encrypted = credentials.rotate(connector.password_encrypted)
                except Exception as error:
                    raise CommandError(f"The password of {connector.name} cannot be decrypted with the keys at hand: nothing was changed.") from error
                connector.save(update_fields=["password_encrypted"])
            secrets = list(DirectorySecret.objects.select_for_update().exclude(secret_encrypted=""))  # the directory's bind password
            for secret in secrets:
                try:
                    secret.secret_encrypted = credentials.rotate(secret.secret_encrypted)
                except Exception as error:
                    raise CommandError("The directory bind password cannot be decrypted with the keys at hand: nothing was changed.") from error
                secret.save(update_fields=["secret_encrypted"])
            audit.record(user=None, action="rotate credential key", message=f"{len(connectors) + len(secrets)} stored password(s) re-encrypted.")
        if new_key:
            credentials.keep_only_newest_key_in_file()
        self.stdout.write(f"Re-encrypted {len(connectors) + len(secrets)} stored password(s) with the newest key.")
        if from_environment:
            self.stdout.write(ENVIRONMENT_STEPS)
        else:
            self.stdout.write(f"The running web server and workers read the new key from {credentials.key_file()} "
                              "on their next use: no restart is needed.")
