"""Create the demo accounts of each persona (idempotent).

    python manage.py seed_demo [--password PASSWORD]

The password comes from --password, else EASCONSOLE_DEMO_PASSWORD, else one is generated and
printed. Accounts: admin (Full Administrator), operator (Operations Administrator), auditor
(Read-only Analyst), and end users without a role.
"""
import os
import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from easconsole import services
from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT as SIMULATOR_ACCOUNT
from easconsole.models import ExchangeConnector, RoleAssignment, Site
from easconsole.services import connectors

PERSONAS = [
    ("admin", "Ada", "Admin", "Full Administrator"),
    ("operator", "Oscar", "Operator", "Operations Administrator"),
    ("auditor", "Audrey", "Auditor", "Read-only Analyst"),
    ("enduser", "Erin", "User", None),
    ("enduser2", "Eli", "User", None),
]


class Command(BaseCommand):
    help = "Create the demo accounts (admin, operator, auditor, end users) and the demo site."

    def add_arguments(self, parser):
        parser.add_argument("--password", help="Password of every demo account (default: $EASCONSOLE_DEMO_PASSWORD or generated).")
        parser.add_argument("--exchange-port", type=int,
                            help="Port of the simulated Exchange organization: add a connector to it if there is none.")
        parser.add_argument("--online-port", type=int,
                            help="Port of the simulated Exchange Online tenant: add an Exchange Online connector to it.")
        parser.add_argument("--online-dir", help="The tenant's --tls-dir (its application's ID, certificate and CA).")

    def handle(self, *args, password=None, exchange_port=None, online_port=None, online_dir=None, **options):
        password = password or os.environ.get("EASCONSOLE_DEMO_PASSWORD") or secrets.token_urlsafe(12)
        User = get_user_model()
        with transaction.atomic():
            site, _ = Site.objects.get_or_create(code="P01", defaults={"name": "Primary site"})
            for username, first, last, role_name in PERSONAS:
                user, _ = User.objects.get_or_create(
                    username=username, defaults={"first_name": first, "last_name": last, "email": f"{username}@contoso.com"}
                )
                user.set_password(password)
                user.save()
                if role_name and not RoleAssignment.objects.filter(user=user, role__name=role_name).exists():
                    services.role_assignment_save(
                        assignment=RoleAssignment(user=user, role=services.role_by_name(role_name)), user=None
                    )
        if exchange_port and not ExchangeConnector.objects.exists():
            self.add_simulated_connector(site, exchange_port)
        online = ExchangeConnector.objects.filter(environment=ExchangeConnector.Environment.ONLINE)
        if online_port and online_dir and not online.exists():
            self.add_online_connector(site, online_port, online_dir)
        self.stdout.write(f"Demo accounts: {', '.join(p[0] for p in PERSONAS)}")
        self.stdout.write(f"Demo password: {password}")

    def add_simulated_connector(self, site, port: int) -> None:
        """A connector to the simulated organization that demo mode runs (its servers listen on
        consecutive loopback addresses from 127.0.0.11: EXCAS01 and EXCAS02 in HQ, EXCAS03 in Branch)."""
        connector = ExchangeConnector(
            name="Contoso (simulated)", site=site, authentication=ExchangeConnector.Authentication.BASIC,
            username=SIMULATOR_ACCOUNT[0], port=port, notification_account="",
        )
        connectors.connector_save(connector=connector, servers=[("HQ", "127.0.0.11"), ("Branch", "127.0.0.13")],
                                  password=SIMULATOR_ACCOUNT[1], user=None)
        self.stdout.write(f"Added the connector {connector.name}; the worker installs it, then discovers its devices.")
        self.link_end_users(connector)

    def add_online_connector(self, site, port: int, directory: str) -> None:
        """An Exchange Online connector to the simulated tenant (`exchange_simulator --online --tls-dir`),
        signing in with the certificate of the application the tenant registered."""
        path = Path(directory)
        connector = ExchangeConnector(
            name="Fabrikam Online (simulated)", site=site, environment=ExchangeConnector.Environment.ONLINE,
            online_tenant="fabrikam.onmicrosoft.com", username=(path / "online-app.id").read_text().strip(),
            online_endpoint=f"https://127.0.0.1:{port}", online_authority=f"https://127.0.0.1:{port}",
            ca_bundle=(path / "online" / "simulator-ca.pem").read_text(), notification_account="",
        )
        connectors.connector_save(connector=connector, servers=[], password=(path / "online-app.pem").read_text(), user=None)
        self.stdout.write(f"Added the connector {connector.name}; the worker installs it, then discovers its devices.")

    def link_end_users(self, connector) -> None:
        """Give the demo end users the addresses of two mailboxes that have devices, so that discovery
        links those devices to them (automatic user device affinity) and the catalog shows them."""
        end_users = get_user_model().objects.filter(username__in=[p[0] for p in PERSONAS if p[3] is None]).order_by("username")
        with connectors.connector_gateway(connector) as gateway:
            owners = [r for r in gateway.recipients(result_size=200) if r.has_active_sync_device_partnership and r.primary_smtp_address]
        for user, owner in zip(end_users, owners):
            user.email = owner.primary_smtp_address
            user.save(update_fields=["email"])
            self.stdout.write(f"{user.username} is {owner.display_name} <{owner.primary_smtp_address}> in the simulated organization.")
