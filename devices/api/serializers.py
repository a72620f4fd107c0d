"""What the API says of devices, device actions, collections and discovery runs."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from devices.models import Collection, Device, DeviceAction, DiscoveryRun

State = DeviceAction.State


class DeviceSerializer(serializers.ModelSerializer):
    connector_name = serializers.CharField(source="connector.name", read_only=True, default=None, allow_null=True)

    class Meta:
        model = Device
        fields = ["id", "name", "device_id", "mailbox", "user_display_name", "user_principal_name", "user_primary_smtp_address",
                  "friendly_name", "device_type", "device_model", "device_os", "device_imei", "device_telephone_number",
                  "device_active_sync_version", "client_type", "access_state", "access_state_reason", "policy_applied",
                  "policy_application_status", "status", "is_remote_wipe_supported", "first_sync_time", "last_success_sync",
                  "device_wipe_request_time", "device_wipe_ack_time", "account_only_device_wipe_request_time",
                  "account_only_device_wipe_ack_time", "connector", "connector_name", "first_discovered", "last_discovered",
                  "missing_since"]


class HistoryStepSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=State.choices)
    at = serializers.DateTimeField()


class DeviceActionSerializer(serializers.ModelSerializer):
    history = serializers.SerializerMethodField(help_text="The states the action went through, oldest first.")

    class Meta:
        model = DeviceAction
        fields = ["id", "kind", "state", "device", "device_name", "connector", "requested_by_name", "reason", "via_catalog",
                  "requested_at", "sent_at", "pending_at", "acknowledged_at", "finished_at", "attempts", "next_attempt_at",
                  "error", "cmdlet", "parameters", "exchange_answer", "history"]

    @extend_schema_field(HistoryStepSerializer(many=True))
    def get_history(self, action: DeviceAction) -> list[dict]:
        steps = [(State.REQUESTED, action.requested_at), (State.SENT, action.sent_at), (State.PENDING, action.pending_at),
                 (State.ACKNOWLEDGED, action.acknowledged_at)]
        if action.state not in (State.SENT, State.PENDING, State.ACKNOWLEDGED):
            steps.append((action.state, action.finished_at))
        return HistoryStepSerializer([{"state": state, "at": at} for state, at in steps if at is not None], many=True).data


class ActionRequestSerializer(serializers.Serializer):
    confirm_wipe_loss = serializers.BooleanField(
        default=False, help_text="Delete only: true to delete a device whose wipe is still open (the wipe is then lost).")
    reason = serializers.CharField(
        default="", allow_blank=True, max_length=200, help_text="A reason or ticket number, kept with the action and in the audit trail.")


class CollectionSerializer(serializers.ModelSerializer):
    member_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Collection
        fields = ["id", "name", "comment", "is_builtin", "member_count", "created", "members_refreshed"]


class DiscoveryRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = DiscoveryRun
        fields = ["id", "connector", "kind", "state", "phase", "queued", "started", "finished", "devices_seen", "devices_added",
                  "devices_changed", "devices_missing", "devices_ignored", "error"]


class DiscoveryRequestSerializer(serializers.Serializer):
    connector = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    kind = serializers.ChoiceField(choices=DiscoveryRun.Kind.choices)
