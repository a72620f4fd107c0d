"""The reports' figures for the API: the same grouped counts as Reports ▸ the device reports, on the devices you may read."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from devices.reports import queries
from devices.reports.tables import ReportFilterSet
from devices.selectors import DEFAULT_INACTIVE_DAYS, devices_for, inactive
from easconsole.api.viewsets import ConsoleViewSet


class CountSerializer(serializers.Serializer):
    value = serializers.CharField()
    devices = serializers.IntegerField()


class InventorySerializer(serializers.Serializer):
    devices = serializers.IntegerField()
    operating_systems = CountSerializer(many=True)
    device_types = CountSerializer(many=True)
    access_states = CountSerializer(many=True)


class InactiveSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    devices = serializers.IntegerField()
    by_age = CountSerializer(many=True)


class ConnectorComplianceSerializer(serializers.Serializer):
    connector = serializers.IntegerField(allow_null=True)
    policy_application_status = CountSerializer(many=True)


FILTERS = [OpenApiParameter("connector", int, description="Only the devices of this connector."),
           OpenApiParameter("collection", int, description="Only the devices of this collection.")]


def counts(rows) -> list[dict]:
    return [{"value": value, "devices": n} for value, n in rows]


class ReportViewSet(ConsoleViewSet):
    """Reports' figures on the devices you may read, narrowed by connector and collection."""

    permission_required = "devices.read_collection"
    pagination_class = None
    filter_backends = []

    def devices(self):
        filters = ReportFilterSet(self.request.query_params, queryset=devices_for(self.request.user, self.permission_required),
                                  request=self.request)
        if not filters.is_valid():
            raise serializers.ValidationError(filters.errors)
        return filters.qs

    @extend_schema(parameters=FILTERS, responses=InventorySerializer)
    @action(detail=False, url_path="inventory")
    def inventory(self, request):
        """Devices by operating system, device type and access state."""
        devices = self.devices()
        systems = queries.by_os_family(devices)
        return Response({"devices": sum(n for _value, n in systems), "operating_systems": counts(systems),
                         "device_types": counts(queries.by_field(devices, "device_type")),
                         "access_states": counts(queries.by_field(devices, "access_state"))})

    @extend_schema(parameters=[*FILTERS, OpenApiParameter("days", int, description=f"Not synced for more than this many days "
                                                                                    f"({DEFAULT_INACTIVE_DAYS} unless given).")],
                   responses=InactiveSerializer)
    @action(detail=False, url_path="inactive")
    def inactive(self, request):
        """Inactive devices: how many did not sync for more than ``days`` days, by age."""
        days = serializers.IntegerField(min_value=0, max_value=36_500).run_validation(
            request.query_params.get("days", DEFAULT_INACTIVE_DAYS))
        old = inactive(self.devices(), days)
        return Response({"days": days, "devices": old.count(), "by_age": counts(queries.by_age(old, days))})

    @extend_schema(parameters=FILTERS, responses=ConnectorComplianceSerializer(many=True))
    @action(detail=False, url_path="compliance")
    def compliance(self, request):
        """Per connector, the devices by DevicePolicyApplicationStatus."""
        by_connector = queries.compliance_by_connector(self.devices())
        return Response([{"connector": pk, "policy_application_status": counts(statuses.items())}
                         for pk, statuses in sorted(by_connector.items(), key=lambda item: (item[0] is None, item[0] or 0))])
