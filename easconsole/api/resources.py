"""The project's own resources: Exchange Server connectors (read) and the audit trail (read)."""
from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from easconsole.api.viewsets import ReadOnlyConsoleViewSet
from easconsole.filtersets import AuditEventFilterSet
from easconsole.models import AuditEvent, ExchangeConnector
from easconsole.selectors import connectors_for


@extend_schema_field({"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$", "example": "02:00"})
class ClockField(serializers.TimeField):
    """HH:MM in the console's time zone (JSON Schema's "time" format would want a UTC offset)."""

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class ExchangeConnectorSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code", read_only=True)
    full_discovery_time = ClockField(read_only=True)

    class Meta:
        model = ExchangeConnector
        fields = ["id", "name", "site", "environment", "state", "state_message", "organization_name", "server_in_use",
                  "full_discovery_days", "full_discovery_time", "delta_interval_minutes", "installed_at", "checked_at",
                  "check_ok", "created"]


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "time", "username", "roles", "action", "object_type", "object_id", "object_repr", "address",
                  "outcome", "message", "changes", "cmdlet", "parameters", "exchange_answer"]


class ExchangeConnectorViewSet(ReadOnlyConsoleViewSet):
    """Exchange Server connectors on the sites you may read. Run a discovery with ``POST /api/discovery-runs/``."""

    serializer_class = ExchangeConnectorSerializer
    permission_required = "easconsole.read_site"

    def get_queryset(self):
        return connectors_for(self.request.user, self.permission_required)


class AuditEventViewSet(ReadOnlyConsoleViewSet):
    """The audit trail, newest first, with the filters of Reports ▸ Audit trail."""

    serializer_class = AuditEventSerializer
    permission_required = "easconsole.view_auditevent"
    queryset = AuditEvent.objects.all()
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEventFilterSet
