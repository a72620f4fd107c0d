"""The API's routes, filled by the project and the apps at ``ready()`` and read once by ``easconsole.api.urls``.

A view set is given as a class, or as its dotted path when the registering package may not import it
(``devices.reports`` registers through ``devices``, as the root URLconf includes apps' URLs by name).
"""
from __future__ import annotations

from dataclasses import dataclass

from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Route:
    prefix: str
    viewset: type | str
    basename: str

    def resolved(self) -> type:
        return import_string(self.viewset) if isinstance(self.viewset, str) else self.viewset


routes: list[Route] = []


def register(prefix: str, viewset: type | str, basename: str) -> None:
    """Serve ``viewset`` at ``/api/<prefix>/`` (URL names ``api:<basename>-list``, ``api:<basename>-detail``, ...)."""
    if any(route.prefix == prefix for route in routes):
        return  # ready() may run twice (tests): one route per prefix
    routes.append(Route(prefix, viewset, basename))
