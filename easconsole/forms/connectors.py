"""Forms of the Add Exchange Server wizard and of a connector's properties."""
from __future__ import annotations

import re

from crispy_forms.layout import HTML, Fieldset, Layout
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from easconsole import credentials
from easconsole.exchange import certificates, kerberos
from easconsole.forms.base import ConsoleModelForm
from easconsole.models import ExchangeConnector, Site
from easconsole.models.connectors import FQDN_VALIDATOR
from easconsole.permissions import objects_for

SERVER_LINE = re.compile(r"^\s*(?P<site>[^:=]+?)\s*[:=]\s*(?P<server>\S+)\s*$")


def parse_servers(text: str) -> list[tuple[str, str]]:
    """``AD site: server`` lines into pairs; raises ValidationError naming each bad line."""
    pairs, errors, seen = [], [], set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = SERVER_LINE.match(line)
        if not match:
            errors.append(_("Line %(n)d: write the AD site, a colon, then the server, e.g. HQ: cas01.contoso.com.") % {"n": number})
            continue
        site, server = match["site"], match["server"].rstrip(".")
        try:
            FQDN_VALIDATOR(server)
        except ValidationError:
            errors.append(_("Line %(n)d: %(server)s is not a server name such as cas01.contoso.com.") % {"n": number, "server": server})
            continue
        if site.lower() in seen:
            errors.append(_("Line %(n)d: the site %(site)s is listed twice; give one CAS or CAS array per site.") % {"n": number, "site": site})
            continue
        seen.add(site.lower())
        pairs.append((site, server))
    if errors:
        raise ValidationError(errors)
    return pairs


def format_servers(pairs) -> str:
    return "\n".join(f"{site}: {server}" for site, server in pairs)


class GeneralForm(ConsoleModelForm):
    """Page 1: what Exchange, which site runs the connector."""

    servers = forms.CharField(
        label=_("Client Access Server or CAS array per Active Directory site"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "HQ: cas01.contoso.com\nBranch: cas03.contoso.com"}),
        help_text=_("One line per AD site. If a server cannot be reached, the connector tries another CAS of that site, then a mailbox server."),
    )

    class Meta:
        model = ExchangeConnector
        fields = ["name", "environment", "site", "online_tenant"]
        widgets = {"environment": forms.RadioSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.user is not None:
            self.fields["site"].queryset = objects_for(self.user, "easconsole.modify_site", Site.objects.all())
        if self.instance.pk and not self.is_bound:
            self.initial["servers"] = format_servers((s.ad_site, s.server) for s in self.instance.servers.all())

    def get_layout(self):
        return Layout(Fieldset(_("General"), "name", "environment", "site", "servers", "online_tenant"))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("environment") == ExchangeConnector.Environment.ONLINE:
            cleaned["server_pairs"] = []
            from easconsole.forms.online import tenant_error

            problem = tenant_error(cleaned.get("online_tenant") or "")
            if problem:
                self.add_error("online_tenant", problem)
            else:
                cleaned["online_tenant"] = cleaned["online_tenant"].strip()
        else:
            try:
                cleaned["server_pairs"] = parse_servers(cleaned.get("servers", ""))
            except ValidationError as error:
                self.add_error("servers", error)
                return cleaned
            if not cleaned["server_pairs"]:
                self.add_error("servers", _("Give at least one AD site and its Client Access Server, e.g. HQ: cas01.contoso.com."))
        return cleaned


class AccountForm(ConsoleModelForm):
    """Page 2: the connection account and the notification account.

    The password is never rendered back; in the wizard's session it is kept only encrypted
    (``password_token``), and on Properties an empty password keeps the stored one.
    """

    password = forms.CharField(label=_("Password"), required=False, strip=False,
                               widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}))
    password_token = forms.CharField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = ExchangeConnector
        fields = ["authentication", "username", "kerberos_realm", "kerberos_kdc", "port", "use_tls", "verify_tls", "ca_bundle",
                  "notification_account"]
        widgets = {"ca_bundle": forms.Textarea(attrs={"rows": 3, "placeholder": "-----BEGIN CERTIFICATE-----"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        prefix = f"{self.prefix}-" if self.prefix else ""
        if self.data.get(f"{prefix}password_token") or self.instance.password_encrypted:
            self.fields["password"].widget.attrs["placeholder"] = _("Kept: type a new one to change it")
        self.fields["verify_tls"].help_text = _("Turned off, any certificate is accepted, an attacker's too: for a lab "
                                                "only. The change is recorded in the audit trail.")
        self.kerberos_unavailable = kerberos.unavailable_reason()
        if self.kerberos_unavailable:  # say why and what to install; default to what works here
            field = self.fields["authentication"]
            field.choices = [(v, _("Kerberos (unavailable on this server)") if v == "kerberos" else label)
                             for v, label in field.choices]
            field.help_text = self.kerberos_unavailable
            if not self.instance.pk:
                self.initial["authentication"] = ExchangeConnector.Authentication.NEGOTIATE

    def get_layout(self):
        return Layout(
            Fieldset(_("Connection account"), "authentication", "username", "password", "password_token",
                     "kerberos_realm", "kerberos_kdc"),
            Fieldset(_("Connection"), "port", "use_tls", "verify_tls", "ca_bundle"),
            Fieldset(_("Notification account"), "notification_account"),
        )

    def clean(self):
        cleaned = super().clean()
        password = self.typed_secret(_("Enter the password again."))
        cleaned["password"] = password or None
        auth = cleaned.get("authentication")
        keeps_stored = bool(self.instance.pk and self.instance.password_encrypted)
        if not cleaned.get("username"):
            self.add_error("username", _("Give the connection account, as DOMAIN\\user or user@domain."))
        if not password and not keeps_stored:
            self.add_error("password", _("Give the connection account's password."))
        if auth == ExchangeConnector.Authentication.KERBEROS:
            self._clean_kerberos(cleaned)
        if cleaned.get("ca_bundle"):
            for problem in certificates.bundle_problems(cleaned["ca_bundle"]):
                self.add_error("ca_bundle", problem)
        return cleaned

    def _clean_kerberos(self, cleaned):
        if self.kerberos_unavailable:
            self.add_error("authentication", self.kerberos_unavailable)
            return
        if cleaned.get("username"):
            try:
                kerberos.principal_for(cleaned["username"], cleaned.get("kerberos_realm") or "")
            except ValueError as error:
                self.add_error("kerberos_realm", str(error))
        try:
            kerberos.parse_kdcs(cleaned.get("kerberos_kdc") or "")
        except ValueError as error:
            self.add_error("kerberos_kdc", str(error))
        cleaned["kerberos_realm"] = (cleaned.get("kerberos_realm") or "").strip().upper()

    def session_data(self) -> dict:
        """What the wizard may keep in the session: the form's data with the password encrypted."""
        data = self.data.copy()
        prefix = f"{self.prefix}-" if self.prefix else ""
        data[f"{prefix}password"] = ""
        if self.cleaned_data.get("password"):
            data[f"{prefix}password_token"] = credentials.encrypt(self.cleaned_data["password"])
        return data


class DiscoveryForm(ConsoleModelForm):
    """Page 3: when and what to discover."""

    class Meta:
        model = ExchangeConnector
        fields = ["full_discovery_days", "full_discovery_time", "delta_interval_minutes", "all_recipients", "ad_containers",
                  "ignore_inactive_days", "max_concurrency"]
        widgets = {"full_discovery_time": forms.TimeInput(attrs={"type": "time"}), "ad_containers": forms.Textarea(attrs={"rows": 3})}

    def get_layout(self):
        return Layout(
            Fieldset(_("Schedule"), "full_discovery_days", "full_discovery_time", "delta_interval_minutes"),
            Fieldset(_("Scope"), "all_recipients", "ad_containers", "ignore_inactive_days"),
            Fieldset(_("Throttling"), "max_concurrency"),
        )

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("all_recipients") and not (cleaned.get("ad_containers") or "").strip():
            self.add_error("ad_containers", _("Give at least one container, or search all recipients."))
        return cleaned


class SummaryForm(forms.Form):
    """The Summary page: the values for a last look, and the deliberate choice to save a connector
    whose connection test failed (its installation then stops at the first refused password)."""

    save_unverified = forms.BooleanField(
        label=_("Save without a successful connection test"), required=False,
        help_text=_("The installation tries once; if Exchange refuses the password it stops until you change it, "
                    "so the service account is not locked out. Other failures are retried every 60 minutes."),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        from crispy_forms.helper import FormHelper

        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(HTML(""))
