"""The candidates of a cleanup run, and Reports ▸ Removed stale devices."""
import django_tables2 as tables
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from devices.cleanup.models import CleanupCandidate
from easconsole.tables import ConsoleTable, TextColumn


class CleanupCandidateTable(ConsoleTable):
    """A run's frozen list: each device as the preview saw it, and what became of it."""

    device_name = TextColumn(_("Device"))
    user = TextColumn(_("User"))
    exchange_device_id = tables.Column(_("Device ID"))
    last_success_sync = tables.DateTimeColumn(verbose_name=_("Last sync (at the preview)"), format="Y-m-d H:i", default=_("never"))
    result = tables.Column(_("Outcome"), empty_values=(), orderable=False)
    when = tables.DateTimeColumn(verbose_name=_("When"), format="Y-m-d H:i:s", empty_values=(), orderable=False)
    explanation = TextColumn(_("Reason"), empty_values=(), orderable=False, attrs={"td": {"class": "small"}})

    class Meta(ConsoleTable.Meta):
        model = CleanupCandidate
        fields = ["device_name", "user", "exchange_device_id", "last_success_sync", "result", "when", "explanation"]
        row_attrs = {"data-outcome": lambda record: record.result}


class RemovedDeviceTable(ConsoleTable):
    """Reports ▸ Removed stale devices: what a cleanup removed, when, on whose approval."""

    removed = tables.DateTimeColumn(verbose_name=_("Removed"), accessor="action__finished_at", format="Y-m-d H:i:s")
    device_name = TextColumn(_("Device"))
    user = TextColumn(_("User"))
    exchange_device_id = tables.Column(_("Device ID"))
    last_success_sync = tables.DateTimeColumn(verbose_name=_("Last sync"), format="Y-m-d H:i", default=_("never"))
    connector = TextColumn(_("Connector"), accessor="run__connector__name")
    run = tables.Column(_("Cleanup run"), linkify=lambda record: record.run.get_absolute_url(), accessor="run__pk")
    approved_by = TextColumn(_("Approved by"), accessor="run__approved_by_name")

    def render_run(self, record):
        return _("Approved %(when)s") % {"when": f"{timezone.localtime(record.run.approved):%Y-%m-%d %H:%M}"} if record.run.approved else record.run.pk

    class Meta(ConsoleTable.Meta):
        model = CleanupCandidate
        fields = ["removed", "device_name", "user", "exchange_device_id", "last_success_sync", "connector", "run", "approved_by"]
        row_attrs = {}
