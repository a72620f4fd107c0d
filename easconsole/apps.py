from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EasConsoleConfig(AppConfig):
    name = "easconsole"
    verbose_name = _("Administration")

    def ready(self):
        from easconsole import signals  # noqa: F401  (connects the receivers)
        from easconsole.api import registry, resources

        registry.register("connectors", resources.ExchangeConnectorViewSet, "connector")
        registry.register("audit-events", resources.AuditEventViewSet, "auditevent")
