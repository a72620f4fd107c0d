"""The Account page of an Exchange Online connector: the Entra ID application that signs in app-only.

The application ID is kept in the connector's `username`; its certificate with private key (or its
client secret) in the encrypted password, so it is encrypted at rest and re-encrypted by
`rotate_credential_key` like any connector password. Like the on-premises password it is never
rendered back, and kept in the wizard's session only encrypted.
"""
from __future__ import annotations

from crispy_forms.layout import Fieldset, Layout
from django import forms
from django.utils.translation import gettext_lazy as _

from easconsole import credentials
from easconsole.exchange import online_settings
from easconsole.forms.base import ConsoleModelForm
from easconsole.models import ExchangeConnector


class OnlineAccountForm(ConsoleModelForm):
    """Page 2 for Exchange Online: application ID, certificate (or secret), sovereign-cloud URLs."""

    password = forms.CharField(
        label=_("Certificate with private key, or client secret"), required=False, strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false",
                                     "placeholder": "-----BEGIN CERTIFICATE-----\n…\n-----BEGIN PRIVATE KEY-----"}),
        help_text=_("Paste the PEM holding the certificate registered on the application and its unencrypted "
                    "private key (preferred), or a client secret's value. It is stored encrypted and never shown again."),
    )
    password_token = forms.CharField(required=False, widget=forms.HiddenInput)
    online_endpoint = forms.URLField(
        label=_("Exchange Online REST endpoint"), required=False, assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": online_settings.MICROSOFT_ENDPOINT}),
        help_text=_("Blank for https://outlook.office365.com; set it for a sovereign cloud."))
    online_authority = forms.URLField(
        label=_("Sign-in authority"), required=False, assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": online_settings.MICROSOFT_AUTHORITY}),
        help_text=_("Blank for https://login.microsoftonline.com; set it for a sovereign cloud."))

    class Meta:
        model = ExchangeConnector
        fields = ["username", "online_endpoint", "online_authority", "ca_bundle", "notification_account"]
        labels = {"username": _("Application (client) ID")}
        help_texts = {"username": _("From the app registration's Overview page in Entra ID. The application needs "
                                    "the Exchange.ManageAsApp permission and an Exchange role.")}
        widgets = {"ca_bundle": forms.Textarea(attrs={"rows": 2, "placeholder": "-----BEGIN CERTIFICATE-----"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ca_bundle"].help_text = _("Only for an endpoint whose certificate a private CA signed.")
        prefix = f"{self.prefix}-" if self.prefix else ""
        if self.data.get(f"{prefix}password_token") or self.instance.password_encrypted:
            self.fields["password"].widget.attrs["placeholder"] = _("Kept: paste a new one to change it")

    def get_layout(self):
        return Layout(
            Fieldset(_("Application"), "username", "password", "password_token"),
            Fieldset(_("Sovereign cloud or private endpoint (leave blank for Microsoft 365)"),
                     "online_endpoint", "online_authority", "ca_bundle"),
            Fieldset(_("Notification account"), "notification_account"),
        )

    def clean_username(self):
        value = (self.cleaned_data.get("username") or "").strip()
        problem = online_settings.app_id_problem(value)
        if problem:
            raise forms.ValidationError(problem)
        return value

    def clean(self):
        cleaned = super().clean()
        credential = self.typed_secret(_("Paste the certificate or secret again."))
        keeps_stored = bool(self.instance.pk and self.instance.password_encrypted)
        if credential or not keeps_stored:
            problem = online_settings.credential_problem(credential)
            if problem:
                self.add_error("password", problem)
        if online_settings.is_certificate(credential) and not self.errors.get("password"):
            credential = credential.strip() + "\n"
        cleaned["password"] = credential or None
        for name, label in (("online_endpoint", "REST endpoint"), ("online_authority", "sign-in authority")):
            problem = online_settings.url_problem(label, cleaned.get(name) or "")
            if problem:
                self.add_error(name, problem)
        if cleaned.get("ca_bundle") and "BEGIN CERTIFICATE" not in cleaned["ca_bundle"]:
            self.add_error("ca_bundle", _("Paste one or more PEM certificates (-----BEGIN CERTIFICATE----- …)."))
        return cleaned

    def session_data(self) -> dict:
        """The form's data with the credential only encrypted (as the on-premises Account page does)."""
        data = self.data.copy()
        prefix = f"{self.prefix}-" if self.prefix else ""
        data[f"{prefix}password"] = ""
        if self.cleaned_data.get("password"):
            data[f"{prefix}password_token"] = credentials.encrypt(self.cleaned_data["password"])
        return data


def tenant_error(value: str) -> str:
    """The General page's check of the tenant ID or domain ("" when fine)."""
    return online_settings.tenant_problem(value)
