"""Forms of Assets and Compliance."""
from crispy_forms.layout import Fieldset, Layout
from django import forms
from django.utils.translation import gettext_lazy as _

from devices.models import Collection
from easconsole.forms.base import ConsoleModelForm


class CollectionForm(ConsoleModelForm):
    class Meta:
        model = Collection
        fields = ["name", "comment"]
        widgets = {"comment": forms.Textarea(attrs={"rows": 3})}

    def get_layout(self):
        return Layout(Fieldset(_("General"), "name", "comment"))
