"""Background tasks of the Administration workspace (django-q2). Tasks take ids and call services."""
from __future__ import annotations

from django.utils import timezone

from easconsole.models import ExchangeConnector
from easconsole.services import connectors


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
