from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DevicesConfig(AppConfig):
    name = "devices"
    verbose_name = _("Assets and Compliance")

    def ready(self):
        from devices import extensions
        from devices.offboarding import services  # noqa: F401 (its receiver follows the wipes)

        extensions.register()
