"""Forms of Administration ▸ Security ▸ Accounts."""
from crispy_forms.layout import Fieldset, Layout
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.utils.translation import gettext_lazy as _

from easconsole.forms.base import ConsoleModelForm
from easconsole.models import ConsoleAccount

MATCH_HELP = _("The user principal name (jdoe@contoso.com) or the mail address of the person's mailbox: "
               "discovery links their devices to this account by it (docs/users.md).")


class PasswordFields(forms.Form):
    password1 = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                help_text=password_validators_help_text_html())
    password2 = forms.CharField(label=_("Confirm the password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean_password2(self):
        if self.cleaned_data.get("password1") != self.cleaned_data.get("password2"):
            raise forms.ValidationError(_("The two passwords differ."))
        return self.cleaned_data["password2"]


class AccountForm(ConsoleModelForm):
    """Create a local account (with a password) or change one (names, e-mail, enabled)."""

    class Meta:
        model = ConsoleAccount
        fields = ["username", "first_name", "last_name", "email", "is_active"]
        labels = {"username": _("User name"), "is_active": _("Enabled"), "email": _("E-mail address")}
        help_texts = {"username": MATCH_HELP, "email": MATCH_HELP,
                      "is_active": _("A disabled account cannot sign in; its history stays.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.creating = self.instance.pk is None
        if self.creating:
            self.fields.update(PasswordFields().fields)
        else:
            self.fields["username"].disabled = True

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        taken = get_user_model().objects.filter(username__iexact=username).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(_("An account of that name exists already."))
        return username

    def clean_password2(self):
        return PasswordFields.clean_password2(self)

    def get_layout(self):
        password = ("password1", "password2") if self.instance.pk is None else ()
        return Layout(Fieldset(_("Account"), "username", "first_name", "last_name", "email", "is_active", *password))


class AccountPasswordForm(ConsoleModelForm):
    """A new password for an account, typed twice."""

    class Meta:
        model = ConsoleAccount
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(PasswordFields().fields)

    def clean_password2(self):
        return PasswordFields.clean_password2(self)
