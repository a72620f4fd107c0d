"""The one harness for tests that need a console connected to the simulated organization.

    exchange = ...                       # the module's simulator (``running_simulator`` in a fixture)
    connector = installed_connector(exchange)          # added and installed through the real task
    devices = discovered(connector)                    # a real full discovery: the inventory Exchange has
    pairs, mailboxes = exchange_truth(connector)       # Exchange's own view, to compare with

Everything goes through the product's own code: the connector service, the install task, discovery
through pypsrp over loopback.
"""
from __future__ import annotations

import datetime as dt

from django.utils import timezone

from devices.discovery import full_discovery
from devices.models import Device, DiscoveryRun
from easconsole import tasks as easconsole_tasks
from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT
from easconsole.models import ExchangeConnector
from easconsole.services import connectors
from tests.factories import SiteFactory


def installed_connector(exchange, *, name: str = "Contoso", install: bool = True, ignore_inactive_days: int = 999,
                        **fields) -> ExchangeConnector:
    """A connector to the simulator's EXCAS01 (site HQ), saved by the service and installed by the install task.

    ``install=False`` only marks it installed: no schedules, no servers remembered for failover, and
    several connectors may share the organization (for tests of discovery itself).
    """
    fields = {"authentication": "basic", **fields}  # e.g. authentication="kerberos", kerberos_realm=..., use_tls=True
    connector = ExchangeConnector(name=name, site=SiteFactory(code="P01"), username=DEFAULT_ACCOUNT[0], port=exchange.port,
                                  ignore_inactive_days=ignore_inactive_days, **fields)
    connectors.connector_save(connector=connector, servers=[("HQ", exchange.server_address("EXCAS01"))], user=None,
                              password=DEFAULT_ACCOUNT[1])
    if not install:
        ExchangeConnector.objects.filter(pk=connector.pk).update(state=ExchangeConnector.State.INSTALLED)
    else:
        easconsole_tasks.install_connector(connector.pk)
    connector.refresh_from_db()
    assert connector.state == ExchangeConnector.State.INSTALLED, connector.state_message
    return connector


def installed_online_connector(tenant, *, name: str = "Contoso Online", install: bool = True,
                               ignore_inactive_days: int = 999, **fields) -> ExchangeConnector:
    """An Exchange Online connector to a simulated tenant (``SimulatedTenant``), signing in with its
    application's certificate; saved by the service and installed by the install task."""
    with open(tenant.ca_file) as handle:
        ca_bundle = handle.read()
    connector = ExchangeConnector(name=name, site=SiteFactory(code="P01"), environment=ExchangeConnector.Environment.ONLINE,
                                  online_tenant=tenant.domain, username=tenant.app_id, online_endpoint=tenant.url,
                                  online_authority=tenant.url, ca_bundle=ca_bundle,
                                  ignore_inactive_days=ignore_inactive_days, **fields)
    connectors.connector_save(connector=connector, servers=[], user=None, password=tenant.app_credential)
    if not install:
        ExchangeConnector.objects.filter(pk=connector.pk).update(state=ExchangeConnector.State.INSTALLED)
    else:
        easconsole_tasks.install_connector(connector.pk)
    connector.refresh_from_db()
    assert connector.state == ExchangeConnector.State.INSTALLED, connector.state_message
    return connector


def discovered(connector: ExchangeConnector) -> list[Device]:
    """Run a full discovery of the connector and return its devices (ordered by name)."""
    run = full_discovery(new_run(connector))
    assert run.state == DiscoveryRun.State.SUCCEEDED, run.error
    return list(connector.devices.filter(missing_since__isnull=True).order_by("name"))


def new_run(connector: ExchangeConnector, kind: str = "full") -> DiscoveryRun:
    return DiscoveryRun.objects.create(connector=connector, kind=kind)


def exchange_truth(connector: ExchangeConnector, *, ignore_inactive_days: int | None = None):
    """Every device as Exchange reports it (device, statistics), and the mailboxes by alias."""
    with connectors.connector_gateway(connector) as gateway:
        pairs = list(gateway.devices_with_statistics())
        mailboxes = {m.alias.lower(): m for m in gateway.mailboxes()}
    if ignore_inactive_days is not None:
        limit = timezone.now() - dt.timedelta(days=ignore_inactive_days)
        pairs = [(d, s) for d, s in pairs if (s.last_success_sync or s.first_sync_time) >= limit]
    return pairs, mailboxes
