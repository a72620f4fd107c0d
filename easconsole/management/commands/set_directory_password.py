"""Store the directory service account's password, encrypted like connector passwords.

    python manage.py set_directory_password           # asks for it (not echoed)
    printf '%s' "$PASSWORD" | python manage.py set_directory_password --stdin
"""
import getpass
import sys

from django.core.management.base import BaseCommand, CommandError

from easconsole import audit, credentials
from easconsole.models import DirectorySecret
from easconsole.signin.ldap import BIND_SECRET


class Command(BaseCommand):
    help = "Store the password of EASCONSOLE_LDAP_BIND_DN, encrypted with the credential key."

    def add_arguments(self, parser):
        parser.add_argument("--stdin", action="store_true", help="Read the password from standard input.")

    def handle(self, *args, stdin=False, **options):
        password = sys.stdin.read().rstrip("\r\n") if stdin else getpass.getpass("Directory bind password: ")
        if not password:
            raise CommandError("No password given: nothing was changed.")
        DirectorySecret.objects.update_or_create(name=BIND_SECRET, defaults={"secret_encrypted": credentials.encrypt(password)})
        audit.record(user=None, action="set directory password", object_type="directory secret", object_repr=BIND_SECRET)
        self.stdout.write("Stored the directory bind password (encrypted).")
