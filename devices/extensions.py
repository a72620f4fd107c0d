"""What devices adds to the connector's pages and reacts to (easconsole/extensions.py)."""
from __future__ import annotations

from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _

from devices import monitoring
from devices.api import views as api_views
from devices.cleanup.views import connector_section as cleanup_section
from devices.discovery.services import discovery_schedules_save
from devices.models import Collection
from devices.selectors import DEFAULT_INACTIVE_DAYS, devices_for, inactive
from devices.views.discovery import last_discovery_section
from easconsole import extensions
from easconsole.api import registry as api_routes
from easconsole.generic import Action
from easconsole.models import ExchangeConnector

DISCOVERY_SCHEDULE_FIELDS = {"full_discovery_days", "full_discovery_time", "delta_interval_minutes"}


@receiver(extensions.connector_saved)
def reschedule_discovery(sender, connector: ExchangeConnector, changes: dict, **kwargs) -> None:
    """New discovery settings of an installed connector reschedule it (a reinstalled one is scheduled at installation)."""
    if connector.state == ExchangeConnector.State.INSTALLED and DISCOVERY_SCHEDULE_FIELDS & changes.keys():
        discovery_schedules_save(connector)


@receiver(extensions.connector_installed)
def schedule_discovery(sender, connector: ExchangeConnector, **kwargs) -> None:
    discovery_schedules_save(connector)


def discovery_section(connector: ExchangeConnector, user):
    return last_discovery_section(connector)


def device_figures(user) -> list[tuple[object, int]]:
    """Reports ▸ Overview: the collections, the devices this reader may see, and how many are inactive."""
    devices = devices_for(user)
    return [(_("Device collections"), Collection.objects.count()), (_("Mobile devices"), devices.count()),
            (_("Not synced for more than %(days)d days") % {"days": DEFAULT_INACTIVE_DAYS},
             inactive(devices, DEFAULT_INACTIVE_DAYS).count())]


def register() -> None:
    extensions.connector_actions.extend([
        # A confirmation page that POSTs; the kind is part of the URL.
        Action(_("Run full discovery now"), "devices:connector_discover", "easconsole.modify_site", needs_object=True, url_args=("full",)),
        Action(_("Run delta discovery now"), "devices:connector_discover", "easconsole.modify_site", needs_object=True, url_args=("delta",)),
    ])
    # The cleanup page is reached from its section (a ribbon button is held on the site; the page needs Delete
    # resource on every device, a permission of collections).
    extensions.connector_sections.extend([discovery_section, cleanup_section])
    extensions.report_figures.append(device_figures)
    extensions.health_reports.append(monitoring.discovery_health)
    extensions.metric_families.append(monitoring.metric_families)
    api_routes.register("devices", api_views.DeviceViewSet, "device")
    api_routes.register("actions", api_views.DeviceActionViewSet, "deviceaction")
    api_routes.register("collections", api_views.CollectionViewSet, "collection")
    api_routes.register("discovery-runs", api_views.DiscoveryRunViewSet, "discoveryrun")
    api_routes.register("offboardings", api_views.OffboardingViewSet, "offboarding")
    api_routes.register("cleanup-runs", api_views.CleanupRunViewSet, "cleanuprun")
    api_routes.register("reports", "devices.reports.api.ReportViewSet", "report")  # by name: devices.reports sits above devices
