"""Reads of the Administration workspace, given the user."""
from __future__ import annotations

from django.db.models import QuerySet

from easconsole.models import ExchangeConnector, Site
from easconsole.permissions import objects_for


def connectors_for(user, perm: str = "easconsole.read_site") -> QuerySet:
    """The connectors on the sites where ``user`` holds ``perm`` (all of them, if held globally)."""
    return ExchangeConnector.objects.select_related("site").filter(site__in=objects_for(user, perm, Site.objects.all()))
