"""Where the apps plug into the project package (docs/architecture.md).

The project package (`easconsole/`) is what the apps build on, so it never imports them. When the
connector must let an app react or add to a page, it announces the event here, and the apps fill
these registries in their ``AppConfig.ready()`` (as NetBox's template extensions do):

- ``connector_saved`` / ``connector_installed``: signals sent after a connector is saved (with the
  fields that changed) and after its installation succeeded;
- ``connector_actions``: buttons of a connector's ribbon (e.g. Run discovery now);
- ``connector_sections``: sections of a connector's page, each ``section(connector, user) -> (title, rows)``
  or None to show nothing;
- ``wizard_steps``: pages of the Add Exchange Server wizard, put before its Summary;
- ``report_figures``: figures of Reports ▸ Overview, each ``figures(user) -> [(label, value), ...]``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from django.dispatch import Signal

# Sent inside the saving transaction: kwargs connector, changes (field -> [before, after]), created.
connector_saved = Signal()
# Sent when the installation succeeded: kwargs connector.
connector_installed = Signal()


@dataclass(frozen=True)
class WizardStep:
    """One page of the Add Exchange Server wizard that an app contributes.

    Attributes:
        name: the step's name in the wizard (and its URL's step).
        label: the page's title in the step list.
        form: the form class; it takes ``user`` and has ``service_kwargs()``.
        save: ``save(connector=, user=, address=, **form.service_kwargs())``, called by Finish inside the
            transaction that adds the connector.
    """

    name: str
    label: Any
    form: type
    save: Callable[..., Any]


connector_actions: list = []
connector_sections: list[Callable[[Any, Any], Any]] = []
wizard_steps: list[WizardStep] = []
report_figures: list[Callable[[Any], list[tuple[Any, Any]]]] = []


def sections_for(connector, user) -> list:
    """The apps' sections of a connector's page, for this user (those that have something to show)."""
    return [section for provider in connector_sections if (section := provider(connector, user)) is not None]
