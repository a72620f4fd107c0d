"""Forms of Assets and Compliance."""
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from devices.models import Collection, CollectionRule
from devices.rules import field_choices, rule_validate
from easconsole.forms.base import ConsoleModelForm


class CollectionForm(ConsoleModelForm):
    class Meta:
        model = Collection
        fields = ["name", "comment"]
        widgets = {"comment": forms.Textarea(attrs={"rows": 3})}

    def get_layout(self):
        return Layout(Fieldset(_("General"), "name", "comment"))


class CollectionRuleForm(forms.Form):
    """A query rule: a device field (from the allowed list), an operator and a value."""

    field = forms.ChoiceField(label=_("Device field"), choices=field_choices)
    operator = forms.ChoiceField(label=_("Operator"), choices=CollectionRule.Operator.choices)
    value = forms.CharField(label=_("Value"), max_length=256, required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(Fieldset(_("Membership rule"), "field", "operator", "value"))

    def clean(self):
        data = super().clean()
        if "field" in data and "operator" in data:
            try:
                data["value"] = rule_validate(field=data["field"], operator=data["operator"], value=data.get("value", ""))
            except ValidationError as error:
                for name, messages in error.message_dict.items():
                    self.add_error(name, messages)
        return data
