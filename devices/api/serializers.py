"""What the API says of devices, device actions, collections, discovery runs, offboardings and cleanup runs."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from devices.cleanup.models import CleanupCandidate, CleanupRun
from devices.cleanup.services import summary
from devices.models import Collection, Device, DeviceAction, DiscoveryRun, Offboarding, OffboardingDevice

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


class OffboardingDeviceSerializer(serializers.ModelSerializer):
    """One device of an offboarding: its snapshot when the offboarding began, and its wipe (or why none)."""

    wipe_kind = serializers.CharField(source="wipe.kind", read_only=True, default=None, allow_null=True)
    wipe_state = serializers.CharField(source="wipe.state", read_only=True, default=None, allow_null=True,
                                       help_text="The wipe's state, as in actions/ (null when the device was not wiped).")
    wipe_error = serializers.CharField(source="wipe.error", read_only=True, default=None, allow_null=True)

    class Meta:
        model = OffboardingDevice
        fields = ["device", "snapshot", "wipe", "wipe_kind", "wipe_state", "wipe_error", "refusal"]


class OffboardingSerializer(serializers.ModelSerializer):
    devices = OffboardingDeviceSerializer(many=True, read_only=True)

    class Meta:
        model = Offboarding
        fields = ["id", "connector", "mailbox", "user_display_name", "user_principal_name", "requested_by_name", "requested_at",
                  "block_state", "block_requested_at", "block_attempts", "block_next_attempt_at", "blocked_at", "block_error",
                  "block_answer", "finished_at", "devices"]


class OffboardingRequestSerializer(serializers.Serializer):
    connector = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    mailbox = serializers.CharField(max_length=256, help_text="The mailbox's Exchange identity, as the devices name it (`mailbox`).")
    full_wipe_device_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), default=list,
        help_text="Ids of the mailbox's devices to reset to factory settings; the others get an account-only wipe where they "
                  "support it, a full wipe where they do not.")


class CleanupCandidateSerializer(serializers.ModelSerializer):
    """A device the preview listed, as it was then, and what became of it."""

    result = serializers.CharField(read_only=True, help_text="Removed, Being removed, Failed, Skipped or Not yet handled.")
    explanation = serializers.CharField(read_only=True, help_text="Why it was skipped, or why its removal failed.")
    when = serializers.DateTimeField(read_only=True, allow_null=True, help_text="When it was removed, failed or skipped.")
    action_state = serializers.CharField(source="action.state", read_only=True, default=None, allow_null=True)

    class Meta:
        model = CleanupCandidate
        fields = ["id", "device", "device_name", "device_identity", "exchange_device_id", "user", "last_success_sync", "outcome",
                  "result", "explanation", "when", "action", "action_state"]


class CleanupRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = CleanupRun
        fields = ["id", "connector", "state", "days_not_synced", "not_synced_since", "stale_found", "cap_remaining",
                  "previewed_by_name", "previewed", "approved_by_name", "approved", "finished", "next_step", "error"]


class CleanupSummarySerializer(serializers.Serializer):
    listed = serializers.IntegerField()
    removed = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    waiting = serializers.IntegerField()


class CleanupRunDetailSerializer(CleanupRunSerializer):
    summary = serializers.SerializerMethodField()
    candidates = CleanupCandidateSerializer(many=True, read_only=True)

    class Meta(CleanupRunSerializer.Meta):
        fields = [*CleanupRunSerializer.Meta.fields, "summary", "candidates"]

    @extend_schema_field(CleanupSummarySerializer)
    def get_summary(self, run: CleanupRun) -> dict:
        return summary(run)
