"""The base of every console form: crispy layout without its own <form> tag, the user at hand."""
from crispy_forms.helper import FormHelper
from django import forms


class ConsoleModelForm(forms.ModelForm):
    """A model form whose layout the subclass gives as ``fieldsets`` (crispy Layout) if it wants one."""

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        layout = self.get_layout()
        if layout is not None:
            self.helper.layout = layout

    def get_layout(self):
        return None
