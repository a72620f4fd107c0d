"""`python manage.py exchange_simulator`: run a simulated Exchange organization until Ctrl-C/SIGTERM.

The simulator itself is a plain Python package; this command only parses options, generates (or
loads) the organization, starts the runner and prints where everything is.
"""
from __future__ import annotations

import os
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

DEFAULT_ACCOUNT = "CONTOSO\\easadmin:Sim-P@ssw0rd-1"


def parse_accounts(values: list[str] | None, default: str = DEFAULT_ACCOUNT) -> dict[str, str]:
    """`USER:PASSWORD` pairs (the password may itself contain colons)."""
    accounts: dict[str, str] = {}
    for value in values or [default]:
        user, sep, password = value.partition(":")
        if not sep or not user or not password:
            raise CommandError(f"--account must be USER:PASSWORD, got {value!r}")
        accounts[user] = password
    return accounts


def parse_auth(value: str) -> tuple[str, ...]:
    methods = tuple(m.strip().lower() for m in value.split(",") if m.strip())
    unknown = set(methods) - {"basic", "ntlm", "negotiate"}
    if not methods or unknown:
        raise CommandError(f"--auth takes basic and/or ntlm, got {value!r}")
    return methods


def saved_accounts(org: Any, fallback: dict[str, str]) -> dict[str, str]:
    """The accounts of a loaded organization when the engine exposes them (name/password objects)."""
    accounts = getattr(org, "accounts", None)
    if isinstance(accounts, dict) and accounts:
        values = list(accounts.values())
        if all(hasattr(a, "name") and hasattr(a, "password") for a in values):
            return {a.name: a.password for a in values}
    return fallback


def describe(sim: Any, accounts: dict[str, str]) -> list[str]:
    """The lines printed at start: endpoints, accounts, control API."""
    lines = [f"Simulated Exchange organization {getattr(sim.org, 'name', '')} ({getattr(sim.org, 'domain', '')})"]
    for listener in sim.listeners.values():
        server = listener.server
        lines.append(f"  {server.name:<10} {'/'.join(server.roles):<20} site {server.site_name:<8} "
                     f"{sim.endpoint(server.name)}")
    lines.append("Accounts:")
    lines += [f"  {user} / {password}" for user, password in accounts.items()]
    lines.append(f"Auth: {', '.join(sim.auth)}" + (f"; CA certificate: {sim.ca_file}" if sim.ca_file else ""))
    lines.append(f"Control API: {sim.control_url}  token: {sim.control_token}")
    lines.append(f"  e.g. curl -H 'Authorization: Bearer {sim.control_token}' {sim.control_url}/state")
    return lines


def start_tenant(sim: Any, options: dict[str, Any]) -> Any:
    """The Exchange Online tenant over the same organization; with --tls-dir its application (ID and
    certificate) is kept there, so a connector set up once keeps working across restarts."""
    from easconsole.exchange.simulator.online import SimulatedTenant

    directory = options["tls_dir"]
    app_id = credential = None
    if directory and os.path.exists(os.path.join(directory, "online-app.pem")):
        with open(os.path.join(directory, "online-app.id")) as handle:
            app_id = handle.read().strip()
        with open(os.path.join(directory, "online-app.pem")) as handle:
            credential = handle.read()
    tenant = SimulatedTenant(sim.org, tls_dir=os.path.join(directory, "online") if directory else None,
                             port=options["online_port"], app_id=app_id, app_credential=credential).start()
    if directory:
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "online-app.id"), "w") as handle:
            handle.write(tenant.app_id)
        descriptor = os.open(os.path.join(directory, "online-app.pem"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(tenant.app_credential)
    return tenant


def describe_tenant(tenant: Any) -> list[str]:
    """What an Exchange Online connector to the simulated tenant needs (the certificate with its key)."""
    return [f"Exchange Online tenant {tenant.domain}",
            f"  Tenant ID: {tenant.tenant_id}",
            f"  Application ID: {tenant.app_id}",
            f"  REST endpoint and sign-in authority: {tenant.url}",
            f"  CA certificate: {tenant.ca_file}",
            "  Application certificate with its private key (paste it into the connector):",
            *[f"    {line}" for line in tenant.app_credential.strip().splitlines()]]


class Command(BaseCommand):
    help = "Run a simulated Exchange organization (WSMan/PSRP on loopback) until interrupted."
    # The simulator uses nothing of the console: it must start even while the console's own checks fail.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stop_event = threading.Event()  # set by SIGINT/SIGTERM (or by a test running the command)
        self.simulator: Any = None

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=0, help="port of every server (0 = pick a free one)")
        parser.add_argument("--control-port", type=int, default=0, help="port of the JSON control API")
        parser.add_argument("--devices", type=int, default=50)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--org-name", default="Contoso")
        parser.add_argument("--domain", default="contoso.com")
        parser.add_argument("--account", action="append", metavar="USER:PASSWORD",
                            help=f"admin account (repeatable; default {DEFAULT_ACCOUNT})")
        parser.add_argument("--auth", default="basic,ntlm", help="basic, ntlm or both, comma-separated")
        parser.add_argument("--https", action="store_true", help="serve HTTPS with a generated CA")
        parser.add_argument("--state-file", help="JSON file to save the organization to and load it from")
        parser.add_argument("--bind-base", default="127.0.0.11", help="loopback address of the first server")
        parser.add_argument("--control-token", help="token for the control API (random by default)")
        parser.add_argument("--tls-dir", help="keep the HTTPS CA and certificate here, reused across restarts")
        parser.add_argument("--online", action="store_true",
                            help="also serve the organization as an Exchange Online tenant (REST and sign-in, HTTPS)")
        parser.add_argument("--online-port", type=int, default=0, help="port of the Exchange Online tenant")

    def handle(self, *args: Any, **options: Any) -> None:
        from easconsole.exchange.simulator.runner import SimulatedExchange

        accounts = parse_accounts(options["account"])
        loading = bool(options["state_file"]) and os.path.exists(options["state_file"])
        if loading:  # the runner loads the saved organization: generating a full one first is wasted work
            options = {**options, "devices": 0}
        org = self.make_organization(options, accounts)
        sim = SimulatedExchange(
            org, port=options["port"], auth=parse_auth(options["auth"]), https=options["https"],
            control_port=options["control_port"], state_file=options["state_file"],
            bind_base=options["bind_base"], control_token=options["control_token"], tls_dir=options["tls_dir"],
        )
        stop = self.stop_event
        previous = {}
        if threading.current_thread() is threading.main_thread():  # signals can only be set there
            previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        sim.start()
        self.simulator = sim
        tenant = None
        try:
            if options["online"]:
                tenant = start_tenant(sim, options)
            if loading:
                self.stdout.write(f"Loaded the organization saved in {options['state_file']}.")
                accounts = saved_accounts(sim.org, accounts)
            for line in describe(sim, accounts) + (describe_tenant(tenant) if tenant else []):
                self.stdout.write(line)
            self.stdout.flush()
            while not stop.wait(0.5):
                pass
        finally:
            if tenant is not None:
                tenant.stop()
            sim.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.stdout.write("Simulated Exchange stopped.")

    @staticmethod
    def make_organization(options: dict[str, Any], accounts: dict[str, str]) -> Any:
        from easconsole.exchange.simulator.organization import Organization

        return Organization.generate(
            seed=options["seed"], devices=options["devices"], name=options["org_name"],
            domain=options["domain"], accounts=accounts,
        )
