"""Devices (with the console's filters) and their actions, device actions, collections, discovery runs, offboardings
and stale-device cleanup runs (read only: approving stays in the console).

Each view set reads through the console's selectors (``devices_for``, ``collections_for``, ...) and
writes through its services (``action_request``, ``discovery_request``), so the API enforces exactly
what the pages enforce, on the same collections and sites, and audits the same way.
"""
from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as RequestInvalid
from rest_framework.response import Response

from devices.actions import services as action_services
from devices.actions.tables import DeviceActionFilterSet
from devices.api.serializers import (ActionRequestSerializer, CleanupRunDetailSerializer, CleanupRunSerializer, CollectionSerializer, DeviceActionSerializer, DeviceSerializer,
                                     DiscoveryRequestSerializer, DiscoveryRunSerializer, OffboardingRequestSerializer,
                                     OffboardingSerializer)
from devices.cleanup.selectors import runs_for as cleanup_runs_for
from devices.discovery.services import discovery_request
from devices.filtersets import CollectionFilterSet, DeviceFilterSet
from devices.models import DeviceAction, OffboardingDevice
from devices.offboarding import selectors as offboarding_selectors
from devices.offboarding import services as offboarding_services
from devices.selectors import actions_for, collections_for, devices_for
from devices.views.discovery import readable_runs
from easconsole.api.idempotency import PARAMETER as IDEMPOTENCY_KEY
from easconsole.api.idempotency import idempotent
from easconsole.api.problems import Problem
from easconsole.api.viewsets import MAX_ID, ReadOnlyConsoleViewSet
from easconsole.selectors import connectors_for

Kind = DeviceAction.Kind


def action_endpoint(kind: str):
    """``POST /api/devices/{id}/<kind>/``: request one action on the device, as its confirmation page does."""

    def endpoint(self, request, pk=None):
        return self.request_action(kind)

    # Not named after the kind: a view set's method named "delete" would also answer HTTP DELETE on a device.
    endpoint.__name__ = f"request_{kind}"
    endpoint.__doc__ = f"Request: {Kind(kind).label.lower()}. Retry safely with an Idempotency-Key."
    endpoint = action(detail=True, methods=["post"], url_path=kind.replace("_", "-"), url_name=kind.replace("_", "-"))(endpoint)
    return extend_schema(request=ActionRequestSerializer, parameters=[IDEMPOTENCY_KEY], operation_id=f"devices_{kind}_create",
                         responses={201: DeviceActionSerializer, 200: DeviceActionSerializer})(endpoint)


class DeviceViewSet(ReadOnlyConsoleViewSet):
    """Mobile devices in the collections you may read, with the device list's filters."""

    serializer_class = DeviceSerializer
    permission_required = "devices.read_collection"
    filterset_class = DeviceFilterSet

    def get_queryset(self):
        return devices_for(self.request.user, self.permission_required).select_related("connector")

    def request_action(self, kind: str) -> Response:
        """The device must be readable (else 404); the action's permission on it is checked (and a refusal audited)
        before the body is read; an action not possible now is 409, with the reason the console gives."""
        device = self.get_object()
        user = self.request.user
        if not action_services.may_request(user, device, kind):
            action_services.deny(user=user, device=device, kind=kind, address=self.address)
        body = ActionRequestSerializer(data=self.request.data or {})
        body.is_valid(raise_exception=True)

        def respond() -> Response:
            before = action_services.open_wipe(device)
            try:
                requested = action_services.action_request(device=device, kind=kind, user=user, address=self.address,
                                                           confirmed_wipe_loss=body.validated_data["confirm_wipe_loss"],
                                                           reason=body.validated_data["reason"])
            except action_services.ActionRefused as refused:
                raise Problem(409, str(refused))
            created = before is None or before.pk != requested.pk
            return Response(DeviceActionSerializer(requested).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

        return idempotent(self.request, respond)

    request_wipe = action_endpoint(Kind.WIPE)
    request_account_wipe = action_endpoint(Kind.ACCOUNT_WIPE)
    request_cancel_wipe = action_endpoint(Kind.CANCEL_WIPE)
    request_allow = action_endpoint(Kind.ALLOW)
    request_block = action_endpoint(Kind.BLOCK)
    request_delete = action_endpoint(Kind.DELETE)


class ActionFilterSet(DeviceActionFilterSet):
    device = django_filters.NumberFilter(field_name="device", min_value=1, max_value=MAX_ID)

    class Meta(DeviceActionFilterSet.Meta):
        fields = [*DeviceActionFilterSet.Meta.fields, "device"]


class DeviceActionViewSet(ReadOnlyConsoleViewSet):
    """Device actions on the devices you may read, newest first: their state and history (``?device=<id>`` for one device's)."""

    serializer_class = DeviceActionSerializer
    permission_required = "devices.read_collection"
    filterset_class = ActionFilterSet

    def get_queryset(self):
        return actions_for(self.request.user)


class CollectionViewSet(ReadOnlyConsoleViewSet):
    """Device collections you may read."""

    serializer_class = CollectionSerializer
    permission_required = "devices.read_collection"
    filterset_class = CollectionFilterSet

    def get_queryset(self):
        return collections_for(self.request.user, self.permission_required).annotate(member_count=Count("members"))


class DiscoveryRunViewSet(mixins.CreateModelMixin, ReadOnlyConsoleViewSet):
    """Discovery runs of the connectors on the sites you may read; ``POST`` runs a discovery now (Modify on the site)."""

    serializer_class = DiscoveryRunSerializer
    permission_required = "easconsole.read_site"
    filter_backends = []

    def get_permission_required(self) -> str:
        return "easconsole.modify_site" if self.action == "create" else self.permission_required

    def get_queryset(self):
        return readable_runs(self.request.user)

    @extend_schema(request=DiscoveryRequestSerializer, responses={201: DiscoveryRunSerializer}, parameters=[IDEMPOTENCY_KEY])
    def create(self, request, *args, **kwargs):
        body = DiscoveryRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        connector = connectors_for(request.user).filter(pk=body.validated_data["connector"]).first()
        if connector is None:
            raise NotFound("No such connector on the sites you may read.")

        def respond() -> Response:
            try:
                run = discovery_request(connector=connector, kind=body.validated_data["kind"], user=request.user, address=self.address)
            except ValidationError as error:
                raise Problem(409, " ".join(error.messages))
            return Response(DiscoveryRunSerializer(run).data, status=status.HTTP_201_CREATED)

        return idempotent(request, respond)


class OffboardingViewSet(mixins.CreateModelMixin, ReadOnlyConsoleViewSet):
    """Offboardings with a device you may read, newest first, with each device's snapshot, wipe and the mailbox's
    ActiveSync state; ``POST`` offboards a user (docs/offboarding.md): Delete resource on every device of the mailbox."""

    serializer_class = OffboardingSerializer
    permission_required = "devices.read_collection"
    filter_backends = []

    def get_permission_required(self) -> str:
        return offboarding_services.PERMISSION if self.action == "create" else self.permission_required

    def get_queryset(self):
        rows = OffboardingDevice.objects.select_related("wipe")
        return offboarding_selectors.offboardings_for(self.request.user).prefetch_related(Prefetch("devices", rows))

    @extend_schema(request=OffboardingRequestSerializer, responses={201: OffboardingSerializer}, parameters=[IDEMPOTENCY_KEY])
    def create(self, request, *args, **kwargs):
        """As the console's confirmation: the mailbox must have a device you may read (else 404), the full wipes are
        chosen among them (else 400, nothing started), and wiping every device of the mailbox is checked (else 403,
        audited)."""
        body = OffboardingRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        connector_id, full = body.validated_data["connector"], body.validated_data["full_wipe_device_ids"]
        mailbox_devices = offboarding_services.mailbox_devices(connector_id=connector_id, mailbox=body.validated_data["mailbox"])
        devices = list(devices_for(request.user, queryset=mailbox_devices))
        if not devices:
            raise NotFound("No device of this mailbox on this connector in the collections you may read.")
        strangers = sorted(set(full) - {device.pk for device in devices})
        if strangers:
            raise RequestInvalid({"full_wipe_device_ids": [
                f"Device {pk} is not one of this mailbox's devices: nothing was started." for pk in strangers]})

        def respond() -> Response:
            try:
                started = offboarding_services.start_offboarding(user=request.user, connector_id=connector_id,
                                                                 mailbox=devices[0].mailbox, full_wipe_device_ids=full,
                                                                 address=self.address)
            except offboarding_services.OffboardingRefused as refused:
                raise Problem(409, str(refused))
            return Response(OffboardingSerializer(started).data, status=status.HTTP_201_CREATED)

        return idempotent(request, respond)


class CleanupRunViewSet(ReadOnlyConsoleViewSet):
    """Stale-device cleanup runs of the connectors on the sites you may read, newest first; a run's details list its
    frozen candidates and what became of each. Previews and approvals are made in the console (docs/cleanup.md)."""

    permission_required = "easconsole.read_site"
    filter_backends = []

    def get_serializer_class(self):
        return CleanupRunDetailSerializer if self.action == "retrieve" else CleanupRunSerializer

    def get_queryset(self):
        runs = cleanup_runs_for(self.request.user)
        return runs.prefetch_related("candidates__action") if self.action == "retrieve" else runs
