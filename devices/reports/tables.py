"""Filters and device tables of the reports; the tables export plain values (devices.tables.export_rows)."""
from __future__ import annotations

import django_filters
import django_tables2 as tables
from django import forms
from django.utils.translation import gettext_lazy as _

from devices.models import Collection, CollectionMember, Device
from devices.selectors import collections_for
from devices.tables import ACCESS_STYLES
from easconsole.filtersets import DateInput
from easconsole.models import ExchangeConnector
from easconsole.tables import ConsoleTable, TextColumn
from easconsole.text import visible


class ReportFilterSet(django_filters.FilterSet):
    """Connector, a collection among those the user may read, and when the devices first synced (set up)."""

    connector = django_filters.ModelChoiceFilter(label=_("Connector"), queryset=ExchangeConnector.objects.order_by("name"),
                                                 empty_label=_("Any"))
    collection = django_filters.ModelChoiceFilter(label=_("Collection"), queryset=Collection.objects.none(),
                                                  method="filter_collection", empty_label=_("Any"))
    first_sync_after = django_filters.DateFilter(field_name="first_sync_time", lookup_expr="date__gte", label=_("First synced from"),
                                                 widget=DateInput)
    first_sync_before = django_filters.DateFilter(field_name="first_sync_time", lookup_expr="date__lte", label=_("Until"),
                                                  widget=DateInput)

    class Meta:
        model = Device
        fields = ["connector", "collection", "first_sync_after", "first_sync_before"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        if request is not None:
            self.filters["collection"].queryset = collections_for(request.user)

    def filter_collection(self, queryset, name, value):
        return queryset.filter(pk__in=CollectionMember.objects.filter(collection=value).values("device"))


class InactiveFilterSet(ReportFilterSet):
    days = django_filters.NumberFilter(
        label=_("Not synced for more than (days)"), method="filter_days", min_value=0, max_value=36_500,
        widget=forms.NumberInput(attrs={"min": 0, "max": 36_500, "class": "form-control form-control-sm input-days"}),
    )

    class Meta(ReportFilterSet.Meta):
        fields = ["days", "connector", "collection", "first_sync_after", "first_sync_before"]

    def filter_days(self, queryset, name, value):
        return queryset  # the view applies it (with its default of 30 days when left empty)


class ReportDeviceTable(ConsoleTable):
    """Devices of a report: fixed columns, a lean template, and an export of plain values."""

    name = TextColumn(_("Name"), linkify=True, order_by=("name", "device_id"))
    device_id = TextColumn(_("Device ID"))
    user_display_name = TextColumn(_("User"))
    user_principal_name = TextColumn(_("User principal name"))
    device_type = TextColumn(_("Device type"))
    device_os = TextColumn(_("Operating system"))
    connector = TextColumn(_("Exchange Server connector"), accessor="connector__name", order_by=("connector__name",))

    class Meta(ConsoleTable.Meta):
        model = Device
        fields = ["name", "device_id", "user_display_name", "user_principal_name", "device_type", "device_os", "connector"]
        template_name = "devices/_table.html"
        row_attrs = {}  # no details pane on a report: the name links to the device
        sequence = ("name", "user_display_name", "connector", "device_type", "device_os", "...")
        empty_text = _("No devices match.")
        attrs = {"class": "table table-sm table-hover align-middle console-table small text-nowrap"}

    def render_access_state(self, value):
        from django.utils.html import format_html

        return format_html('<span class="badge text-bg-{}">{}</span>', ACCESS_STYLES.get(value, "light"), visible(value))

    @classmethod
    def only_fields(cls) -> list[str]:
        return ["pk", "connector", "connector__name", *[name for name in cls.Meta.fields if name != "connector"]]


class InactiveDeviceTable(ReportDeviceTable):
    last_success_sync = tables.DateTimeColumn(verbose_name=_("Last sync"), format="Y-m-d H:i", default=_("Never"))

    class Meta(ReportDeviceTable.Meta):
        fields = [*ReportDeviceTable.Meta.fields, "last_success_sync"]
        sequence = ("name", "user_display_name", "last_success_sync", "connector", "...")
        order_by = ("last_success_sync",)


class NonCompliantDeviceTable(ReportDeviceTable):
    policy_applied = tables.Column(_("Policy applied"))
    policy_application_status = tables.Column(_("Policy application status"))
    last_policy_update_time = tables.DateTimeColumn(verbose_name=_("Last policy update"), format="Y-m-d H:i")
    access_state = tables.Column(_("Access state"))

    class Meta(ReportDeviceTable.Meta):
        fields = [*ReportDeviceTable.Meta.fields, "policy_applied", "policy_application_status", "last_policy_update_time",
                  "access_state"]
        sequence = ("name", "user_display_name", "connector", "policy_application_status", "policy_applied",
                    "last_policy_update_time", "access_state", "...")
