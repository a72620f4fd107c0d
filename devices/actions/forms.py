"""Confirmation of a device action: what will happen, why, and for a delete during a wipe, the words that accept it."""
from django import forms
from django.utils.translation import gettext_lazy as _

from devices.models import DeviceAction

REASON_HELP = _("Kept with the action and in the audit trail, for whoever reads them later.")


class ReasonForm(forms.Form):
    """The reason or ticket number an administrator may give for an action (one device or a selection)."""

    reason = forms.CharField(label=_("Reason or ticket number (optional)"), required=False, help_text=REASON_HELP,
                             max_length=DeviceAction._meta.get_field("reason").max_length)


class ConfirmActionForm(ReasonForm):
    """Deleting a device whose wipe is pending cancels the wipe: the person types the device's name to accept it."""

    confirm_name = forms.CharField(label=_("Type the device's name to confirm"), required=False)

    def __init__(self, *args, device=None, needs_words: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.device, self.needs_words = device, needs_words

    def clean_confirm_name(self):
        typed = self.cleaned_data["confirm_name"].strip()
        if self.needs_words and typed != self.device.name:
            raise forms.ValidationError(_("Type %(name)s exactly to accept that the pending wipe is cancelled.") % {"name": self.device.name})
        return typed
