"""Writes of Administration ▸ Exchange Server Connectors: add, change, delete, install, test.

Installation follows ConfigMgr: adding a connector flags SMS_EXCHANGE_CONNECTOR for installation;
the install task connects, identifies the organization, runs the preflight, and on success writes
status message 1015. On failure it records why, and the task retries every 60 minutes until it
succeeds or the connector is removed, except when Exchange refused the password (HTTP 401): signing
in with it every hour would lock the service account out of Active Directory, so the attempts stop
until the password is changed.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from easconsole import audit, extensions, health
from easconsole.credentials import CredentialError
from easconsole.exchange import certificates
from easconsole.exchange import errors as exchange_errors
from easconsole.exchange import gateway as exchange
from easconsole.exchange.connection import worst_case_seconds
from easconsole.exchange import pools as exchange_pools
from easconsole.exchange.values import ServerInfo
from easconsole.logs import easdisc, sitecomp
from easconsole.models import AuditEvent, ConnectorServer, ExchangeConnector, StatusMessage
from easconsole.services import diff, snapshot

COMPONENT = "SMS_EXCHANGE_CONNECTOR"
INSTALLED = 1015  # Site Component Manager: the component is installed
INSTALL_FAILED = 1014  # Site Component Manager: the component failed to install [inferred ID]
RETRY_AFTER = dt.timedelta(minutes=60)
CONNECTOR_FIELDS = [
    "name", "site", "environment", "online_tenant", "online_endpoint", "online_authority", "authentication", "username",
    "kerberos_realm", "kerberos_kdc", "port", "use_tls", "verify_tls", "notification_account", "full_discovery_days",
    "full_discovery_time", "delta_interval_minutes", "all_recipients", "ad_containers", "ignore_inactive_days",
    "max_concurrency",
]
# A change of these means the connector must be installed again (it may reach another organization).
CONNECTION_FIELDS = {"environment", "online_tenant", "online_endpoint", "online_authority", "authentication", "username",
                     "kerberos_realm", "kerberos_kdc", "port", "use_tls", "verify_tls", "ca_bundle"}


def install_retry_name(connector_id: int) -> str:
    """The django-q2 schedule that retries a failed installation (named so deleting the connector finds it)."""
    return f"connector-{connector_id}-install-retry"


def ca_bundle_path(connector: ExchangeConnector) -> str | None:
    """The connector's trusted CAs as a file pypsrp can read (written when the PEM changes)."""
    if not connector.ca_bundle.strip():
        return None
    digest = hashlib.sha256(connector.ca_bundle.encode()).hexdigest()[:16]
    path = Path(django_settings.VAR_DIR) / "tls" / f"connector-{connector.pk or 'new'}-{digest}.pem"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(connector.ca_bundle)
    return str(path)


def connection_settings(connector: ExchangeConnector, servers: list[tuple[str, str]] | None = None,
                        password: str | None = None) -> exchange.ConnectionSettings:
    """The gateway's settings for a connector; the password is decrypted here, at the moment of use."""
    if servers is None:
        servers = [(s.ad_site, s.server) for s in connector.servers.all()]
    return exchange.ConnectionSettings(
        sites=dict(servers),
        username=connector.username,
        password=connector.get_password() if password is None else password,
        port=connector.port,
        use_tls=connector.use_tls,
        verify_tls=connector.verify_tls,
        ca_bundle=ca_bundle_path(connector),
        auth=connector.authentication,
        realm=connector.kerberos_realm,
        kdc=connector.kerberos_kdc,
        max_concurrency=connector.max_concurrency,
        online=connector.is_online,
        tenant=connector.online_tenant if connector.is_online else "",
        endpoint=connector.online_endpoint if connector.is_online else "",
        authority=connector.online_authority if connector.is_online else "",
    )


def sends_password_in_clear(connector: ExchangeConnector, servers: list[tuple[str, str]] | None = None) -> bool:
    """Basic over plain HTTP (the gateway's rule): the password crosses the network readable by anyone on the path."""
    try:
        return connection_settings(connector, servers, password="").sends_password_in_clear
    except ValueError:  # not a complete connection yet: nothing crosses the network
        return False


def known_servers(connector: ExchangeConnector) -> list[ServerInfo]:
    """The servers Exchange reported at the last installation, for failover."""
    return [ServerInfo(s["name"], s["fqdn"], tuple(s["roles"]), s["site"], s.get("version", "")) for s in connector.known_servers]


def connector_gateway(connector: ExchangeConnector) -> exchange.ExchangeGateway:
    """A gateway to the connector's organization (not yet open): use it as a context manager.
    Exchange Online's REST transport or on-premises Remote PowerShell: callers use both the same way."""
    return health.CountedGateway(exchange.gateway_for(connection_settings(connector), known_servers=known_servers(connector)))


def connector_reclaim_pools(connector: ExchangeConnector) -> exchange_pools.ReclaimReport:
    """Close the runspace pools the console left open on the connector's servers (exchange/pools.py):
    the configured ones and every server Exchange reported."""
    settings = connection_settings(connector)
    servers = [*settings.sites.values(), *(s.fqdn for s in known_servers(connector))]
    return exchange_pools.reclaim(settings, servers)


LEASE_BOUNDS = (dt.timedelta(seconds=60), dt.timedelta(minutes=15))


def connector_lease(connector: ExchangeConnector | None, *, operations: int) -> dt.timedelta:
    """How long a worker owns work it sends to the connector's Exchange (a device action, a settings
    push): longer than the longest attempt can last (every server of the failover plan and each request
    waiting its full timeout), so that no second worker sends it meanwhile.
    EASCONSOLE_ACTION_LEASE_SECONDS overrides it (tests)."""
    if django_settings.EASCONSOLE_ACTION_LEASE_SECONDS:
        return dt.timedelta(seconds=django_settings.EASCONSOLE_ACTION_LEASE_SECONDS)
    if connector is None:
        return LEASE_BOUNDS[0]
    try:
        longest = worst_case_seconds(connection_settings(connector, password=""), known_servers(connector),
                                     operations=operations)
    except ValueError:  # settings that cannot be used: the attempt fails at once
        return LEASE_BOUNDS[0]
    return min(max(dt.timedelta(seconds=longest), LEASE_BOUNDS[0]), LEASE_BOUNDS[1])


def _flag_for_installation(connector: ExchangeConnector) -> None:
    connector.state = ExchangeConnector.State.FLAGGED
    connector.state_message = ""
    connector.next_retry_at = None
    sitecomp.info(f"Component {COMPONENT} flagged for installation", extra={"component": "SMS_SITE_COMPONENT_MANAGER"})
    transaction.on_commit(lambda: queue_installation(connector.pk))


def queue_installation(connector_id: int) -> None:
    from django_q.tasks import async_task

    async_task("easconsole.tasks.install_connector", connector_id, task_name=f"Install connector {connector_id}",
               group="Exchange Server connectors")


def connector_save(*, connector: ExchangeConnector, servers: list[tuple[str, str]], user, password: str | None = None,
                   address: str | None = None, note: str = "") -> ExchangeConnector:
    """Add or change a connector. ``password`` None keeps the stored one; ``note`` goes to the audit trail.

    Adding, or changing how to connect, flags the component for (re)installation.
    """
    creating = connector.pk is None
    before = {} if creating else snapshot(ExchangeConnector.objects.get(pk=connector.pk), CONNECTOR_FIELDS)
    before_servers = [] if creating else sorted(str(s) for s in connector.servers.all())
    before_cas = "" if creating else ExchangeConnector.objects.values_list("ca_bundle", flat=True).get(pk=connector.pk)
    if password is not None:
        connector.set_password(password)
    with transaction.atomic():
        connector.full_clean()
        changes = diff(before, snapshot(connector, CONNECTOR_FIELDS))
        after_servers = sorted(f"{site}: {server}" for site, server in servers)
        if after_servers != before_servers:
            changes["servers"] = [", ".join(before_servers), ", ".join(after_servers)]
        if connector.ca_bundle.strip() != before_cas.strip():  # the trusted CAs by name, not the whole PEM
            changes["ca_bundle"] = [certificates.describe_bundle(before_cas), certificates.describe_bundle(connector.ca_bundle)]
        if password is not None and not creating:
            changes["password"] = ["", "changed"]
        reinstall = creating or bool(CONNECTION_FIELDS & changes.keys()) or "servers" in changes or "password" in changes
        if reinstall:
            _flag_for_installation(connector)
        connector.save()
        if "servers" in changes or creating:
            connector.servers.all().delete()
            ConnectorServer.objects.bulk_create(ConnectorServer(connector=connector, ad_site=s, server=h) for s, h in servers)
        audit.record(user=user, action="create" if creating else "modify", obj=connector, address=address, changes=changes,
                     message=note)
        extensions.connector_saved.send(sender=ExchangeConnector, connector=connector, changes=changes, created=creating)
    return connector


def connector_delete(*, connector: ExchangeConnector, user, address: str | None = None) -> None:
    """Delete a connector, and stop its schedules and installation retries."""
    from django_q.models import Schedule

    with transaction.atomic():
        Schedule.objects.filter(name__startswith=f"connector-{connector.pk}-").delete()
        audit.record(user=user, action="delete", obj=connector, address=address)
        connector.delete()


@dataclass
class TestResult:
    """What a connection test found, in words an administrator can act on."""

    ok: bool
    message: str
    organization: str = ""
    organization_guid: object = None
    known_servers: list[dict] = field(default_factory=list)
    server: str = ""
    ad_site: str = ""
    missing: dict[str, str] = field(default_factory=dict)  # cmdlet -> role group that grants it
    duplicate_of: str = ""
    error_kind: str = ""  # ExchangeConnectionError.kind when Exchange could not be reached or refused us

    @property
    def password_refused(self) -> bool:
        """Exchange refused the account or its password (HTTP 401)."""
        return self.error_kind == "authentication"

    def as_dict(self) -> dict:
        """What a session or a page may keep (JSON-able; no secret in it)."""
        return {"ok": self.ok, "message": self.message, "organization": self.organization, "server": self.server,
                "ad_site": self.ad_site, "missing": self.missing, "duplicate_of": self.duplicate_of, "error_kind": self.error_kind}


def connection_test(settings: exchange.ConnectionSettings, *, exclude_connector: int | None = None,
                    notification_account: str = "", servers_known: list[ServerInfo] = ()) -> TestResult:
    """Connect with ``settings`` (failover included), identify the organization, run the preflight.

    ``servers_known`` are those Exchange reported last time: when no configured server answers,
    failover tries them (another CAS of the site, then a mailbox server).
    """
    try:
        with exchange.gateway_for(settings, known_servers=servers_known) as gateway:
            organization = gateway.organization()
            preflight = gateway.preflight()
            result = TestResult(ok=not preflight.missing, message="", organization=organization.name,
                                organization_guid=organization.guid, server=gateway.current_server,
                                ad_site=gateway.current_site or "",
                                missing={c: preflight.role_groups.get(c, "") for c in preflight.missing})
            if not settings.online and not preflight.missing:
                result.known_servers = [
                    {"name": s.name, "fqdn": s.fqdn, "roles": list(s.roles), "site": s.site, "version": s.version}
                    for s in gateway.servers()
                ]
            if notification_account and not _is_mailbox(gateway, notification_account):
                result.ok = False
                result.message = f"The notification account {notification_account} has no mailbox in {organization.name}."
    except exchange_errors.ExchangeError as error:
        return TestResult(ok=False, message=str(error), error_kind=getattr(error, "kind", ""))
    other = ExchangeConnector.objects.filter(organization_guid=organization.guid).exclude(pk=exclude_connector).first()
    if organization.guid and other:
        result.ok = False
        result.duplicate_of = other.name
        result.message = f"The Exchange organization {organization.name} is already managed by the connector {other.name}; only one connector per organization is allowed."
    elif result.missing:
        who = "The application" if settings.online else "The connection account"
        result.message = f"{who} cannot run: " + "; ".join(f"{c} (granted by {g})" for c, g in result.missing.items())
    elif result.ok and settings.online:
        result.message = f"Signed in to Exchange Online ({organization.name}) through {result.server}."
    elif result.ok:
        result.message = f"Connected to {organization.name} through {result.server} (site {result.ad_site})."
    return result


def _is_mailbox(gateway, address: str) -> bool:
    try:
        recipient = gateway.recipient(address)
    except exchange_errors.ExchangeObjectNotFound:
        return False
    return "Mailbox" in (recipient.recipient_type_details or "")


def connector_add(*, connector: ExchangeConnector, servers: list[tuple[str, str]], password: str, user,
                  steps: dict[str, dict] | None = None, address: str | None = None,
                  unverified: bool = False) -> ExchangeConnector:
    """The Add Exchange Server wizard's Finish: the connector, and what the apps' wizard pages hold
    (``steps``: step name -> the keyword arguments of that step's save), in one transaction.

    The wizard calls it after a successful connection test, or with ``unverified`` when the
    administrator chose to save a connector whose test failed (said in the audit trail).
    """
    steps = steps or {}
    note = "Saved without a successful connection test, as the administrator chose." if unverified else ""
    with transaction.atomic():
        connector_save(connector=connector, servers=servers, user=user, password=password, address=address, note=note)
        for step in extensions.wizard_steps:
            if step.name in steps:
                step.save(connector=connector, user=user, address=address, **steps[step.name])
    return connector


def connector_install(connector: ExchangeConnector) -> bool:
    """Install the component for a connector: connect, identify, preflight. Returns success.

    Called by the install task. Failure is recorded on the connector with its reason, and the
    next attempt is planned 60 minutes later.
    """
    ExchangeConnector.objects.filter(pk=connector.pk).update(state=ExchangeConnector.State.INSTALLING, state_message="")
    sitecomp.info(f"Installing component {COMPONENT} for connector {connector.name}", extra={"component": "SMS_SITE_COMPONENT_MANAGER"})
    try:
        settings = connection_settings(connector)
    except Exception as error:  # a settings problem or a password that no longer decrypts
        return _install_failed(connector, str(error))
    result = connection_test(settings, exclude_connector=connector.pk, notification_account=connector.notification_account,
                             servers_known=known_servers(connector))
    if result.password_refused:
        return _install_stopped(connector, result.message)
    if not result.ok:
        return _install_failed(connector, result.message)
    now = timezone.now()
    try:
        with transaction.atomic():
            ExchangeConnector.objects.filter(pk=connector.pk).update(
                state=ExchangeConnector.State.INSTALLED, state_message=result.message, installed_at=now, next_retry_at=None,
                organization_name=result.organization, organization_guid=result.organization_guid,
                server_in_use=result.server, ad_site_in_use=result.ad_site,
                known_servers=result.known_servers or connector.known_servers,
            )
            StatusMessage.objects.create(site=connector.site, connector=connector, message_id=INSTALLED,
                                         description=f"Site Component Manager installed {COMPONENT} for {connector.name} "
                                                     f"({result.organization}, through {result.server}).")
    except IntegrityError:  # another connector was installed for the same organization meanwhile
        return _install_failed(connector, f"The Exchange organization {result.organization} is already managed by another connector.")
    sitecomp.info(f"STATMSG: ID={INSTALLED} SEV=I LEV=M SOURCE=\"SMS Server\" COMP=\"SMS_SITE_COMPONENT_MANAGER\" "
                  f"SITE={connector.site.code} - {COMPONENT} installed for connector {connector.name}",
                  extra={"component": "SMS_SITE_COMPONENT_MANAGER"})
    easdisc.info(f"Connector {connector.name} uses {result.server} in site {result.ad_site}")
    extensions.connector_installed.send(sender=ExchangeConnector, connector=connector)
    return True


def _install_failed(connector: ExchangeConnector, reason: str) -> bool:
    retry_at = timezone.now() + RETRY_AFTER
    ExchangeConnector.objects.filter(pk=connector.pk).update(
        state=ExchangeConnector.State.FAILED, state_message=reason, next_retry_at=retry_at
    )
    StatusMessage.objects.create(site=connector.site, connector=connector, message_id=INSTALL_FAILED,
                                 severity=StatusMessage.Severity.ERROR,
                                 description=f"Site Component Manager failed to install {COMPONENT} for {connector.name}: {reason} "
                                             f"It retries at {retry_at:%Y-%m-%d %H:%M} UTC.")
    sitecomp.error(f"STATMSG: ID={INSTALL_FAILED} SEV=E - Failed to install {COMPONENT} for connector {connector.name}: {reason} "
                   f"Retrying in 60 minutes.", extra={"component": "SMS_SITE_COMPONENT_MANAGER"})
    return False


def _install_stopped(connector: ExchangeConnector, reason: str) -> bool:
    """Exchange refused the password: no hourly retry, which would lock the service account out."""
    ExchangeConnector.objects.filter(pk=connector.pk).update(
        state=ExchangeConnector.State.AUTH_FAILED, state_message=reason, next_retry_at=None
    )
    StatusMessage.objects.create(site=connector.site, connector=connector, message_id=INSTALL_FAILED,
                                 severity=StatusMessage.Severity.ERROR,
                                 description=f"Site Component Manager failed to install {COMPONENT} for {connector.name}: {reason} "
                                             f"Exchange refused the connection account's password, so it does not try again "
                                             f"until the password is changed in the connector's Properties (retrying would lock "
                                             f"the account out).")
    sitecomp.error(f"STATMSG: ID={INSTALL_FAILED} SEV=E - Failed to install {COMPONENT} for connector {connector.name}: {reason} "
                   f"Exchange refused the password: not retrying until the password is changed.",
                   extra={"component": "SMS_SITE_COMPONENT_MANAGER"})
    return False


def connector_check(*, connector: ExchangeConnector, user, address: str | None = None) -> TestResult:
    """Check connection now: connect with the stored password and run the preflight; keep and audit the outcome.

    It changes neither the installation nor its retries: it tells the administrator whether the
    connector can reach Exchange and run its cmdlets today.
    """
    try:
        settings = connection_settings(connector)
    except (ValueError, CredentialError) as error:
        result = TestResult(ok=False, message=str(error), error_kind="configuration")
    else:
        result = connection_test(settings, exclude_connector=connector.pk, notification_account=connector.notification_account,
                                 servers_known=known_servers(connector))
    connector.checked_at, connector.check_ok = timezone.now(), result.ok
    connector.check_message, connector.check_missing = result.message, result.missing
    with transaction.atomic():
        connector.save(update_fields=["checked_at", "check_ok", "check_message", "check_missing"])
        audit.record(user=user, action="check connection", obj=connector, address=address, message=result.message,
                     outcome=AuditEvent.Outcome.SUCCESS if result.ok else AuditEvent.Outcome.FAILURE)
    (easdisc.info if result.ok else easdisc.warning)(f"Connection check of {connector.name}: {result.message}")
    return result


def connector_reinstall(*, connector: ExchangeConnector, user, address: str | None = None) -> None:
    """Flag the component for installation again now, instead of waiting for the next hourly retry."""
    from django_q.models import Schedule

    with transaction.atomic():
        Schedule.objects.filter(name=install_retry_name(connector.pk)).delete()
        _flag_for_installation(connector)
        connector.save(update_fields=["state", "state_message", "next_retry_at"])
        audit.record(user=user, action="retry installation", obj=connector, address=address)
