"""Reports ▸ the device reports, modelled on Reports ▸ Wipe actions (counts drawn as CSS bars, ``?export=csv``).

Each report reads only the devices the user may read (``devices_for``), groups them in SQL, and exports
CSV; device lists stream their CSV as the device list does.
"""
from __future__ import annotations

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tables2 import RequestConfig

from devices.models import Device
from devices.reports import queries
from devices.reports.dashboard import sync_age_trend
from devices.reports.tables import InactiveDeviceTable, InactiveFilterSet, NonCompliantDeviceTable, ReportFilterSet
from devices.selectors import DEFAULT_INACTIVE_DAYS, devices_for, inactive
from devices.tables import export_rows
from easconsole.csv_export import csv_response, streamed_csv
from easconsole.generic import ConsoleView
from easconsole.models import ExchangeConnector, Site
from easconsole.permissions import objects_for
from policies import catalog
from policies.models import AccessRule
from policies.services import connector_policy, managed_groups



class DeviceReportView(ConsoleView):
    """A report on the devices the user may read, narrowed by the report's filters."""

    permission_required = "devices.read_collection"
    filterset = ReportFilterSet
    title = ""

    def filtered_devices(self):
        self.filter = self.filterset(self.request.GET, queryset=devices_for(self.request.user, self.permission_required),
                                     request=self.request)
        return self.filter.qs if self.filter.is_valid() else Device.objects.none()

    def get_context_data(self, **kwargs):
        return super().get_context_data(title=self.title, filter=self.filter, **kwargs)


class InventoryReportView(DeviceReportView):
    """Devices by operating system, device type and access state."""

    template_name = "devices/reports/inventory.html"
    title = gettext_lazy("Devices by operating system, type and access state")

    def get(self, request, *args, **kwargs):
        self.check_permission()
        devices = self.filtered_devices()
        groups = [
            ("os", _("Operating system"), queries.by_os_family(devices)),
            ("type", _("Device type"), queries.by_field(devices, "device_type")),
            ("access", _("Access state"), queries.by_field(devices, "access_state")),
        ]
        if request.GET.get("export") == "csv":
            rows = [[_("Grouping"), _("Value"), _("Devices")]]
            rows += [[title, label, count] for _key, title, counts in groups for label, count in counts]
            return csv_response(rows, "devices-by-os-type-access-state.csv")
        total = sum(count for _label, count in groups[0][2])
        charts = [(key, title, queries.bars(counts)) for key, title, counts in groups]
        return self.render_to_response(self.get_context_data(charts=charts, total=total, trend=sync_age_trend(request.user)))


class InactiveReportView(DeviceReportView):
    """Inactive mobile devices: not synced for more than N days (30 unless chosen), by age."""

    template_name = "devices/reports/inactive.html"
    filterset = InactiveFilterSet
    title = gettext_lazy("Inactive mobile devices")
    per_page = 50

    @property
    def days(self) -> int:
        value = self.filter.form.cleaned_data.get("days") if self.filter.is_valid() else None
        return int(value) if value is not None else DEFAULT_INACTIVE_DAYS

    def get(self, request, *args, **kwargs):
        self.check_permission()
        devices = self.filtered_devices()
        rows = inactive(devices, self.days).select_related("connector").only(*InactiveDeviceTable.only_fields(), "last_success_sync")
        table = InactiveDeviceTable(rows, request=request)
        if request.GET.get("export") == "csv":
            table.order_by = request.GET.get("sort") or "last_success_sync"
            return streamed_csv(export_rows(table, table.data.data), "inactive-mobile-devices.csv")
        RequestConfig(request, paginate={"per_page": self.per_page}).configure(table)
        by_age = queries.bars(queries.by_age(inactive(devices, self.days), self.days))
        # Discovery leaves out devices inactive for longer than the connector's limit (30 days by default), so with the
        # default settings this report would be empty without saying why: it says which connectors skip them.
        skipping = ExchangeConnector.objects.filter(ignore_inactive_days__lte=self.days).order_by("name")
        return self.render_to_response(self.get_context_data(table=table, by_age=by_age, days=self.days, trend=sync_age_trend(request.user),
                                                             skipping=list(skipping.values_list("name", "ignore_inactive_days"))))


class ComplianceReportView(DeviceReportView):
    """Compliance with the connector's settings: per connector, the groups it manages and
    DevicePolicyApplicationStatus counts; the devices not AppliedInFull."""

    template_name = "devices/reports/compliance.html"
    title = gettext_lazy("Compliance with the connector's settings")
    per_page = 50

    def get(self, request, *args, **kwargs):
        self.check_permission()
        devices = self.filtered_devices()
        noncompliant = (devices.exclude(policy_application_status=queries.COMPLIANT).select_related("connector")
                        .only(*NonCompliantDeviceTable.only_fields(), "policy_applied", "policy_application_status",
                              "last_policy_update_time", "access_state"))
        table = NonCompliantDeviceTable(noncompliant, request=request)
        if request.GET.get("export") == "csv":
            table.order_by = request.GET.get("sort")
            return streamed_csv(export_rows(table, table.data.data), "noncompliant-mobile-devices.csv")
        RequestConfig(request, paginate={"per_page": self.per_page}).configure(table)
        counts = queries.compliance_by_connector(devices)
        connectors = ExchangeConnector.objects.filter(pk__in=[pk for pk in counts if pk is not None]).select_related("policy")
        connectors = {connector.pk: connector for connector in connectors.order_by("name")}
        sections = []
        for pk, connector in connectors.items():
            groups = [catalog.GROUPS[g] for g in managed_groups(connector_policy(connector))]
            sections.append({"connector": connector, "managed": groups, "bars": queries.bars(counts[pk].items()),
                             "total": sum(counts[pk].values())})
        if None in counts:
            sections.append({"connector": None, "managed": [], "bars": queries.bars(counts[None].items()),
                             "total": sum(counts[None].values())})
        return self.render_to_response(self.get_context_data(table=table, sections=sections))


class SettingsReportView(ConsoleView):
    """Settings summary: per connector the user may read, its configured settings by group ("managed by
    Exchange" for the groups it leaves alone), the default access level and the access rules."""

    template_name = "devices/reports/settings.html"
    permission_required = "easconsole.read_site"

    def connectors(self):
        sites = objects_for(self.request.user, self.permission_required, Site.objects.all())
        return (ExchangeConnector.objects.filter(site__in=sites).select_related("site", "policy").order_by("name")
                .prefetch_related(Prefetch("access_rules", queryset=AccessRule.objects.order_by("characteristic", "query_string"))))

    @staticmethod
    def summary(connector) -> dict:
        policy = connector_policy(connector)
        configured = policy.settings or {}
        managed = set(managed_groups(policy))
        groups = []
        for key, label in catalog.GROUPS.items():
            settings = [(s.label, s.display(configured[s.key])) for s in catalog.group_settings(key)
                        if configured.get(s.key) is not None]
            groups.append({"label": label, "managed": key in managed, "settings": settings})
        return {
            "connector": connector, "groups": groups,
            "external_mdm": catalog.EXTERNAL_MDM.display(bool(policy.allow_external_mdm)),
            "default_access_level": policy.get_default_access_level_display(),
            "rules": list(connector.access_rules.all()),
            "admin_mail_recipients": policy.admin_mail_recipients or [],
            "user_mail_insert": policy.user_mail_insert,
        }

    def get(self, request, *args, **kwargs):
        self.check_permission()
        summaries = [self.summary(connector) for connector in self.connectors()]
        if request.GET.get("export") == "csv":
            rows = [[_("Connector"), _("Group"), _("Setting"), _("Value")]]
            for item in summaries:
                name = item["connector"].name
                for group in item["groups"]:
                    if not group["managed"]:
                        rows.append([name, group["label"], "", _("Managed by Exchange")])
                    rows += [[name, group["label"], label, value] for label, value in group["settings"]]
                rows.append([name, "", catalog.EXTERNAL_MDM.label, item["external_mdm"]])
                rows.append([name, _("Access"), _("Default access level"), item["default_access_level"]])
                rows += [[name, _("Access rules"), rule.identity, rule.get_access_level_display()] for rule in item["rules"]]
            return csv_response(rows, "settings-summary.csv")
        return self.render_to_response(self.get_context_data(title=_("Settings summary"), summaries=summaries))
