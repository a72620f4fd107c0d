"""The base of every API view set: the console's permission check, and 404 for ids no row can have."""
from __future__ import annotations

from rest_framework import mixins, viewsets
from rest_framework.exceptions import NotFound

from easconsole.api.permissions import ConsolePermission
from easconsole.audit import client_address

MAX_ID = 2**63 - 1


class ConsoleViewSet(viewsets.GenericViewSet):
    """A resource of the API. ``permission_required`` is the permission the console's page of it needs."""

    permission_classes = [ConsolePermission]
    permission_required: str = ""

    def get_permission_required(self) -> str:
        return self.permission_required

    @property
    def address(self) -> str | None:
        return client_address(self.request)

    def get_object(self):
        value = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, "")
        if not str(value).isdigit() or int(value) > MAX_ID:
            raise NotFound
        return super().get_object()


class ReadOnlyConsoleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ConsoleViewSet):
    """A list (cursor pages, the view set's ``filterset_class``) and the details of one object."""
