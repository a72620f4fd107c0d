"""The base of every console form: crispy layout without its own <form> tag, the user at hand."""
from crispy_forms.helper import FormHelper
from django import forms

from easconsole import credentials


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

    def typed_secret(self, again: str) -> str:
        """The secret typed on this page, or the one an earlier page kept encrypted (``password_token``,
        as the wizard does between pages); "" when neither. ``again`` asks for it when it cannot be read."""
        secret = self.cleaned_data.get("password") or ""
        if not secret and self.cleaned_data.get("password_token"):
            try:
                secret = credentials.decrypt(self.cleaned_data["password_token"])
            except credentials.CredentialError:
                self.add_error("password", again)
        return secret
