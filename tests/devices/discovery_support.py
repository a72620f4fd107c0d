"""A connector to the simulated organization, installed, and Exchange's own view of its devices."""
from __future__ import annotations

import datetime as dt

from django.utils import timezone

from devices.models import DiscoveryRun
from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT
from easconsole.models import ConnectorServer, ExchangeConnector
from easconsole.services import connectors
from tests.factories import SiteFactory


def installed_connector(exchange, *, name: str = "Contoso", ignore_inactive_days: int = 999, **fields) -> ExchangeConnector:
    """A connector marked installed (the install task has its own tests) on the simulator's EXCAS01."""
    connector = ExchangeConnector(name=name, site=SiteFactory(code="P01"), authentication="basic",
                                  username=DEFAULT_ACCOUNT[0], port=exchange.port, ignore_inactive_days=ignore_inactive_days,
                                  state=ExchangeConnector.State.INSTALLED, **fields)
    connector.set_password(DEFAULT_ACCOUNT[1])
    connector.save()
    ConnectorServer.objects.create(connector=connector, ad_site="HQ", server=exchange.server_address("EXCAS01"))
    return connector


def exchange_truth(connector: ExchangeConnector, *, ignore_inactive_days: int | None = None):
    """Every device as Exchange reports it (device, statistics), and the mailboxes by alias."""
    with connectors.connector_gateway(connector) as gateway:
        pairs = list(gateway.devices_with_statistics())
        mailboxes = {m.alias.lower(): m for m in gateway.mailboxes()}
    if ignore_inactive_days is not None:
        limit = timezone.now() - dt.timedelta(days=ignore_inactive_days)
        pairs = [(d, s) for d, s in pairs if (s.last_success_sync or s.first_sync_time) >= limit]
    return pairs, mailboxes


def new_run(connector: ExchangeConnector, kind: str = "full") -> DiscoveryRun:
    return DiscoveryRun.objects.create(connector=connector, kind=kind)
