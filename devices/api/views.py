"""Devices (with the console's filters) and their actions, device actions, collections and discovery runs.

Each view set reads through the console's selectors (``devices_for``, ``collections_for``, ...) and
writes through its services (``action_request``, ``discovery_request``), so the API enforces exactly
what the pages enforce, on the same collections and sites, and audits the same way.
"""
from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Count
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from devices.actions import services as action_services
from devices.actions.tables import DeviceActionFilterSet
from devices.api.serializers import (ActionRequestSerializer, CollectionSerializer, DeviceActionSerializer, DeviceSerializer,
                                     DiscoveryRequestSerializer, DiscoveryRunSerializer)
from devices.discovery.services import discovery_request
from devices.filtersets import CollectionFilterSet, DeviceFilterSet
from devices.models import DeviceAction
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

    endpoint.__name__ = kind
    endpoint.__doc__ = f"Request: {Kind(kind).label.lower()}. Retry safely with an Idempotency-Key."
    endpoint = action(detail=True, methods=["post"], url_path=kind.replace("_", "-"), url_name=kind.replace("_", "-"))(endpoint)
    return extend_schema(request=ActionRequestSerializer, parameters=[IDEMPOTENCY_KEY],
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

    wipe = action_endpoint(Kind.WIPE)
    account_wipe = action_endpoint(Kind.ACCOUNT_WIPE)
    cancel_wipe = action_endpoint(Kind.CANCEL_WIPE)
    allow = action_endpoint(Kind.ALLOW)
    block = action_endpoint(Kind.BLOCK)
    delete = action_endpoint(Kind.DELETE)


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
