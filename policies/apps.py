from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoliciesConfig(AppConfig):
    name = "policies"
    verbose_name = _("Mobile device settings and access rules")

    def ready(self):
        from easconsole import hooks
        from policies import receivers

        hooks.connector_installed.connect(receivers.push_after_install, dispatch_uid="policies-push-after-install")
        if receivers.connector_section not in hooks.connector_sections:
            hooks.connector_sections.append(receivers.connector_section)
