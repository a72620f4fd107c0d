"""What the project announces so that apps can react, without the project importing them.

- ``connector_installed``: sent once a connector's installation succeeded (``connector=``); the
  policies app pushes the connector's settings to Exchange.
- ``connector_sections``: functions ``(connector, user) -> (title, [(label, value), ...]) | None`` that
  apps register in their ``AppConfig.ready``; the connector's page shows the sections they return.
"""
from django.dispatch import Signal

connector_installed = Signal()
connector_sections: list = []


def sections_for(connector, user) -> list:
    return [section for provider in connector_sections if (section := provider(connector, user))]
