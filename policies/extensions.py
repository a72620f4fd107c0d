"""The wizard's Settings and Access Rules pages (easconsole/extensions.py)."""
from django.utils.translation import gettext_lazy as _

from easconsole import extensions
from policies import services
from policies.forms import AccessSettingsForm, PolicySettingsForm


def register() -> None:
    extensions.wizard_steps.extend([
        extensions.WizardStep("settings", _("Settings"), PolicySettingsForm, services.policy_settings_save),
        extensions.WizardStep("access", _("Access Rules"), AccessSettingsForm, services.access_settings_save),
    ])
