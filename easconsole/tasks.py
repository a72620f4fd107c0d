"""Background tasks of the Administration workspace (django-q2). Tasks take ids and call services."""
from __future__ import annotations

import logging

from django.utils import timezone

from easconsole.credentials import CredentialError
from easconsole.models import ExchangeConnector
from easconsole.services import connectors

log = logging.getLogger(__name__)
RECLAIM_SCHEDULE = "easconsole-reclaim-runspace-pools"


def install_connector(connector_id: int) -> str:
    """Install SMS_EXCHANGE_CONNECTOR for a connector; on failure plan the next attempt in 60 minutes.

    A password Exchange refused is not tried again: the retries stop until the password is changed.
    """
    from django_q.models import Schedule

    connector = ExchangeConnector.objects.filter(pk=connector_id).select_related("site").first()
    if connector is None:
        return "The connector was deleted; nothing to install."
    if connectors.connector_install(connector):
        Schedule.objects.filter(name=connectors.install_retry_name(connector_id)).delete()
        return f"Installed {connector.name}."
    connector.refresh_from_db(fields=["state"])
    if connector.state == ExchangeConnector.State.AUTH_FAILED:
        Schedule.objects.filter(name=connectors.install_retry_name(connector_id)).delete()
        return f"Installation of {connector.name} failed: Exchange refused the password; not retrying until it is changed."
    Schedule.objects.update_or_create(
        name=connectors.install_retry_name(connector_id),
        defaults={
            "func": "easconsole.tasks.install_connector",
            "args": repr((connector_id,)),
            "schedule_type": Schedule.ONCE,
            "repeats": -1,
            "next_run": timezone.now() + connectors.RETRY_AFTER,
        },
    )
    return f"Installation of {connector.name} failed; retrying in 60 minutes."


def reclaim_runspace_pools() -> str:
    """Every 15 minutes and when a worker starts: close the runspace pools the console left open on
    each installed on-premises connector's Exchange servers (a killed worker's, a close that failed)."""
    outcomes = []
    for connector in ExchangeConnector.objects.filter(state=ExchangeConnector.State.INSTALLED).order_by("pk"):
        if connector.is_online:
            continue  # no runspace pools: Exchange Online is reached through REST
        try:
            outcomes.append(f"{connector.name}: {connectors.connector_reclaim_pools(connector)}")
        except (ValueError, CredentialError) as error:  # settings or password that cannot be used
            log.warning("runspace pools of %s not reclaimed: %s", connector.name, error)
            outcomes.append(f"{connector.name}: not reclaimed ({error})")
    return "; ".join(outcomes) or "No installed connector."


def reclaim_soon() -> None:
    """Run the reclaim schedule at the scheduler's next tick (within about 15 s). One row, so several
    workers starting together still run it once; put back if someone deleted it."""
    from django_q.models import Schedule

    if not Schedule.objects.filter(name=RECLAIM_SCHEDULE).update(next_run=timezone.now()):
        Schedule.objects.create(name=RECLAIM_SCHEDULE, func="easconsole.tasks.reclaim_runspace_pools",
                                schedule_type=Schedule.MINUTES, minutes=15, repeats=-1, next_run=timezone.now())
