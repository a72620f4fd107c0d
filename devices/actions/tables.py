"""The list of device actions (Monitoring ▸ Device actions) and its filters."""
import django_filters
import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from devices.models import DeviceAction
from easconsole.filtersets import DateInput, SearchFilterSet, YesNoFilter
from easconsole.tables import ConsoleTable


class DeviceActionTable(ConsoleTable):
    requested_at = tables.DateTimeColumn(format="Y-m-d H:i:s", linkify=True)
    kind = tables.Column(_("Action"))
    state = tables.Column(_("State"), attrs={"td": {"data-state": lambda record: record.state}})
    finished_at = tables.DateTimeColumn(format="Y-m-d H:i:s")
    # What went wrong (or why it waits), apart from the reason the person gave.
    error = tables.Column(_("Error"))

    class Meta(ConsoleTable.Meta):
        model = DeviceAction
        fields = ["requested_at", "kind", "device_name", "state", "requested_by_name", "reason", "via_catalog", "attempts", "finished_at", "error"]
        empty_text = _("No action has been requested yet.")


class DeviceActionFilterSet(SearchFilterSet):
    search_fields = ("device_name", "requested_by_name", "reason", "error")
    open = YesNoFilter(label=_("Still open"), method="filter_open")
    requested_after = django_filters.DateFilter(field_name="requested_at", lookup_expr="date__gte", label=_("Requested from"),
                                                widget=DateInput)
    requested_before = django_filters.DateFilter(field_name="requested_at", lookup_expr="date__lte", label=_("Until"),
                                                 widget=DateInput)

    class Meta:
        model = DeviceAction
        fields = ["q", "kind", "state", "open", "requested_after", "requested_before"]

    def filter_open(self, queryset, name, value):
        return queryset.filter(state__in=DeviceAction.OPEN) if value else queryset.exclude(state__in=DeviceAction.OPEN)
