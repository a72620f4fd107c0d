"""The offboarding confirmation: which devices get a full wipe instead of an account-only one."""
from django import forms
from django.utils.translation import gettext_lazy as _


class OffboardingForm(forms.Form):
    """One box per device; a device that cannot do an account-only wipe gets a full wipe whatever is ticked."""

    full_wipe = forms.TypedMultipleChoiceField(label=_("Full wipe (factory reset) instead of account-only"), coerce=int,
                                               required=False, widget=forms.CheckboxSelectMultiple, error_messages={
                                                   "invalid_choice": _("Device %(value)s is not one of this mailbox's devices: "
                                                                       "nothing was started. Choose among the devices listed.")})

    def __init__(self, *args, devices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["full_wipe"].choices = [(d.pk, d.name) for d in devices]
