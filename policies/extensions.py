"""What policies adds to the connector (easconsole/extensions.py): the wizard's Settings and Access Rules
pages, the "Settings in Exchange" section, a push once the connector is installed, and the drift check
after each full discovery."""
from django.utils.translation import gettext_lazy as _

from devices.discovery.runs import full_read
from easconsole import extensions
from policies import receivers, services
from policies.forms import AccessSettingsForm, PolicySettingsForm


def register() -> None:
    extensions.wizard_steps.extend([
        extensions.WizardStep("settings", _("Settings"), PolicySettingsForm, services.policy_settings_save),
        extensions.WizardStep("access", _("Access Rules"), AccessSettingsForm, services.access_settings_save),
    ])
    extensions.connector_sections.append(receivers.connector_section)
    extensions.connector_installed.connect(receivers.push_after_install, dispatch_uid="policies-push-after-install")
    full_read.connect(receivers.compare_after_discovery, dispatch_uid="policies-drift-after-discovery")
