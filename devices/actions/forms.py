"""Confirmation of a device action: what will happen, and for a delete during a wipe, the words that accept it."""
from django import forms
from django.utils.translation import gettext_lazy as _


class ConfirmActionForm(forms.Form):
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
