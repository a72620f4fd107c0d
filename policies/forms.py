"""The Settings and Access Rules pages (the connector wizard's pages 4 and 5, and its Properties tabs).

The forms only validate. They need no instance: give ``initial=policy_initial(connector)`` (or
``access_initial(connector)``) to show what is stored, and pass ``form.service_kwargs()`` to the
matching service in ``policies.services``.
"""
from __future__ import annotations

import re

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Fieldset, Layout
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.functional import lazy
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _

from easconsole.models import ExchangeConnector
from policies import catalog
from policies.models import USER_MAIL_INSERT_MAX, AccessRule
from policies.services import connector_policy

NOT_CONFIGURED = ("", _("Not configured"))


class ConsoleForm(forms.Form):
    """A console form without a model: crispy layout without a <form> tag, the user at hand, and a
    read-only mode (every field disabled) for people who may look but not change."""

    def __init__(self, *args, user=None, read_only: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.read_only = read_only
        if read_only:
            for field in self.fields.values():
                field.disabled = True
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = self.get_layout()

    def get_layout(self):
        return None


class ListTextarea(forms.Textarea):
    """A textarea that shows a list as one item per line."""

    def format_value(self, value):
        if isinstance(value, (list, tuple)):
            value = "\n".join(str(v) for v in value)
        return super().format_value(value)


def split_list(text: str) -> list[str]:
    """Items given one per line or separated by commas or semicolons, stripped, without duplicates."""
    items = [item.strip() for item in re.split(r"[\n,;]+", text or "")]
    return list(dict.fromkeys(item for item in items if item))


def setting_field(setting: catalog.Setting) -> forms.Field:
    """The form field of one catalog setting; an empty value means "Not configured"."""
    common = {"label": setting.label, "help_text": setting.help_text, "required": False}
    if setting.kind == catalog.BOOL:
        return forms.TypedChoiceField(choices=[NOT_CONFIGURED, *((str(v), label) for v, label in setting.choices)],
                                      coerce=lambda v: v == "True", empty_value=None, **common)
    if setting.kind == catalog.ENUM:
        return forms.ChoiceField(choices=[NOT_CONFIGURED, *setting.choices], **common)
    if setting.kind == catalog.LIST:
        return forms.CharField(widget=ListTextarea(attrs={"rows": 3}), **common)
    # Lazy: the fields are built at import time, the messages are translated when shown.
    message = lazy(setting.range_message, str)()
    whole = lazy(lambda: _("%(name)s must be a whole number.") % {"name": setting.message_name}, str)()
    return forms.IntegerField(
        widget=forms.NumberInput(attrs={"min": setting.min_value, "max": setting.max_value,
                                        "placeholder": _("Not configured")}),
        error_messages={"invalid": whole, "min_value": message, "max_value": message},
        min_value=setting.min_value, max_value=setting.max_value, **common)


class PolicySettingsForm(ConsoleForm):
    """The five groups of mobile device settings and "Allow external mobile device management".

    Fields are named by EAS parameter; ``values()`` gives the configured ones.
    """

    allow_external_mdm = forms.BooleanField(label=catalog.EXTERNAL_MDM.label, help_text=catalog.EXTERNAL_MDM.help_text,
                                            required=False)

    def get_layout(self):
        stored = {key for key, value in self.initial.items() if value is not None}
        groups = []
        for group, label in catalog.GROUPS.items():
            settings = catalog.group_settings(group)
            managed = any(s.key in stored for s in settings)
            badge = (f'<span class="badge text-bg-primary ms-2 align-middle" data-managed="connector">{escape(_("Managed by this connector"))}</span>'
                     if managed else
                     f'<span class="badge text-bg-light border ms-2 align-middle" data-managed="exchange">{escape(_("Managed by Exchange"))}</span>')
            cells = [Div(s.key, css_class="col-md-6") for s in settings]
            groups.append(Fieldset(f"{escape(label)}{badge}", Div(*cells, css_class="row"), css_id=f"group-{group}"))
        note = _("Configure one setting of a group and the connector manages the whole group: the settings left not configured "
                 "take Exchange's defaults. Configure none and Exchange keeps managing the group.")
        return Layout(HTML(f'<p class="small text-body-secondary" data-testid="group-rule">{escape(note)}</p>'), *groups,
                      Fieldset(_("External mobile device management"), "allow_external_mdm"))

    def clean(self):
        cleaned = super().clean()
        for setting in catalog.SETTINGS:
            if setting.kind == catalog.LIST and setting.key in cleaned:
                cleaned[setting.key] = split_list(cleaned[setting.key]) or None
            elif setting.kind == catalog.ENUM and cleaned.get(setting.key) == "":
                cleaned[setting.key] = None
        values = {s.key: cleaned.get(s.key) for s in catalog.SETTINGS if s.key in cleaned}
        try:
            catalog.validate_settings(values)
        except ValidationError as error:
            for key, messages in error.message_dict.items():
                if key in self.fields and key not in self.errors:
                    self.add_error(key, messages)
        return cleaned

    def values(self) -> dict[str, object]:
        """The configured settings (parameter name -> value), after ``is_valid()``."""
        return {s.key: self.cleaned_data[s.key] for s in catalog.SETTINGS if self.cleaned_data.get(s.key) is not None}

    def service_kwargs(self) -> dict:
        """The arguments of ``policies.services.policy_settings_save`` besides connector, user and address."""
        return {"values": self.values(), "allow_external_mdm": bool(self.cleaned_data.get("allow_external_mdm"))}

    def summary(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """The configured settings by group, as (group, [(label, value)]), for a summary page."""
        values = self.values()
        rows = [(str(label), [(str(s.label), s.display(values[s.key])) for s in catalog.group_settings(g) if s.key in values])
                for g, label in catalog.GROUPS.items()]
        rows = [row for row in rows if row[1]]
        yes_no = _("Yes") if self.cleaned_data.get("allow_external_mdm") else _("No")
        return [*rows, (str(_("External mobile device management")), [(str(catalog.EXTERNAL_MDM.label), str(yes_no))])]


# One field per catalog setting, in the catalog's order, before the external-MDM checkbox.
PolicySettingsForm.base_fields = {**{s.key: setting_field(s) for s in catalog.SETTINGS},
                                  "allow_external_mdm": PolicySettingsForm.base_fields["allow_external_mdm"]}


def policy_initial(connector: ExchangeConnector | None) -> dict:
    """The initial data of a PolicySettingsForm showing what the connector has stored (nothing for None)."""
    if connector is None or connector.pk is None:
        return {"allow_external_mdm": False}
    policy = connector_policy(connector)
    return {**(policy.settings or {}), "allow_external_mdm": policy.allow_external_mdm}


class AccessRuleForm(forms.Form):
    characteristic = forms.ChoiceField(
        label=_("Characteristic"), choices=AccessRule.Characteristic.choices, initial=AccessRule.Characteristic.DEVICE_TYPE,
        widget=forms.Select(attrs={"class": "form-select form-select-sm", "aria-label": _("Characteristic")}))
    query_string = forms.CharField(
        label=_("Query string"), max_length=256, help_text=_("The exact value the device reports (no wildcards)."),
        error_messages={"required": _("Enter the exact value to match.")},
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm", "aria-label": _("Query string"),
                                      "placeholder": _("e.g. iPhone")}))
    access_level = forms.ChoiceField(
        label=_("Access level"), choices=ExchangeConnector.AccessLevel.choices, initial=ExchangeConnector.AccessLevel.ALLOW,
        widget=forms.Select(attrs={"class": "form-select form-select-sm", "aria-label": _("Access level")}))

    def clean_query_string(self):
        value = self.cleaned_data["query_string"]
        if "*" in value:
            raise ValidationError(_("Access rules match the exact value a device reports; wildcards such as * are not supported."))
        return value


class BaseAccessRuleFormSet(forms.BaseFormSet):
    """The access rules; empty extra rows are ignored, rows ticked Delete are dropped."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].widget.attrs.update({"class": "form-check-input", "aria-label": _("Delete this rule")})

    def kept_forms(self) -> list[forms.Form]:
        """The rows that are rules: not ticked Delete, and not an extra row left empty."""
        initial = self.initial_form_count()
        return [form for i, form in enumerate(self.forms)
                if (i < initial or form.has_changed()) and not self._should_delete_form(form)]

    def clean(self):
        if any(self.errors):
            return
        seen = {}
        for form in self.kept_forms():
            key = (form.cleaned_data["characteristic"], form.cleaned_data["query_string"].lower())
            if key in seen:
                rule = AccessRule(characteristic=key[0], query_string=form.cleaned_data["query_string"])
                raise ValidationError(_("There are two rules for “%(rule)s”. Keep one rule per value.") % {"rule": rule.identity})
            seen[key] = form

    def rules(self) -> list[dict]:
        """The rules as plain dicts, after ``is_valid()``."""
        return [{k: form.cleaned_data[k] for k in ("characteristic", "query_string", "access_level")}
                for form in self.kept_forms()]


AccessRuleFormSet = forms.formset_factory(AccessRuleForm, formset=BaseAccessRuleFormSet, extra=1, can_delete=True)


class AccessSettingsForm(ConsoleForm):
    """Default access level, quarantine email, and the access rules (a nested ``AccessRuleFormSet``
    in ``self.rules``, prefixed "<prefix>-rules"), validated together so the page works as one form."""

    default_access_level = forms.ChoiceField(
        label=_("Default access level"), choices=ExchangeConnector.AccessLevel.choices,
        initial=ExchangeConnector.AccessLevel.ALLOW,
        help_text=_("For devices that no access rule matches, including devices that already sync."),
    )
    admin_mail_recipients = forms.CharField(
        label=_("Administrators who receive quarantine email"), required=False, widget=ListTextarea(attrs={"rows": 3}),
        help_text=_("Email addresses, one per line or separated by commas."),
    )
    user_mail_insert = forms.CharField(
        label=_("Text added to the email a user receives when a device is quarantined"), required=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": USER_MAIL_INSERT_MAX}),
    )

    def __init__(self, data=None, *args, prefix=None, initial=None, read_only: bool = False, **kwargs):
        super().__init__(data, *args, prefix=prefix, initial=initial, read_only=read_only, **kwargs)
        rules_prefix = f"{prefix}-rules" if prefix else "rules"
        self.rules = AccessRuleFormSet(data, prefix=rules_prefix, initial=(initial or {}).get("rules") or [])
        if read_only:
            self.rules.extra = 0
            self.rules.can_delete = False
            for form in self.rules.forms:
                for field in form.fields.values():
                    field.disabled = True

    def get_layout(self):
        return Layout(
            Fieldset(_("Default access level"), "default_access_level"),
            Fieldset(_("Quarantine notification"), "admin_mail_recipients", "user_mail_insert"),
        )

    def clean_admin_mail_recipients(self):
        addresses = split_list(self.cleaned_data["admin_mail_recipients"])
        bad = []
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                bad.append(address)
        if bad:
            raise ValidationError(_("Not an email address: %(addresses)s.") % {"addresses": ", ".join(f"“{a}”" for a in bad)})
        return addresses

    def clean_user_mail_insert(self):
        text = self.cleaned_data["user_mail_insert"]
        if len(text) > USER_MAIL_INSERT_MAX:
            raise ValidationError(_("The text added to the user's email can have at most %(max)s characters (it has %(count)s).")
                                  % {"max": USER_MAIL_INSERT_MAX, "count": len(text)})
        return text

    def clean(self):
        cleaned = super().clean()
        if self.rules.is_valid():
            cleaned["rules"] = self.rules.rules()
        else:
            raise ValidationError(_("Correct the access rules below."))
        return cleaned

    def has_changed(self):
        return super().has_changed() or self.rules.has_changed()

    def service_kwargs(self) -> dict:
        """The arguments of ``policies.services.access_settings_save`` besides connector, user and address."""
        return {k: self.cleaned_data[k] for k in ("default_access_level", "admin_mail_recipients", "user_mail_insert", "rules")}

    def summary(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """The access settings and rules as (section, [(label, value)]), for a summary page."""
        data = self.cleaned_data
        levels = dict(ExchangeConnector.AccessLevel.choices)
        rules = [(str(AccessRule(characteristic=r["characteristic"], query_string=r["query_string"])), str(levels[r["access_level"]]))
                 for r in data["rules"]]
        return [
            (str(_("Default access level")), [(str(self.fields["default_access_level"].label), str(levels[data["default_access_level"]]))]),
            (str(_("Quarantine notification")), [
                (str(self.fields["admin_mail_recipients"].label), ", ".join(data["admin_mail_recipients"]) or str(_("(none)"))),
                (str(self.fields["user_mail_insert"].label), data["user_mail_insert"] or str(_("(none)"))),
            ]),
            (str(_("Access rules")), rules or [(str(_("Access rules")), str(_("(none)")))]),
        ]


def access_initial(connector: ExchangeConnector | None) -> dict:
    """The initial data of an AccessSettingsForm showing what the connector has stored (the defaults for None)."""
    if connector is None or connector.pk is None:
        return {"default_access_level": ExchangeConnector.AccessLevel.ALLOW, "admin_mail_recipients": [],
                "user_mail_insert": "", "rules": []}
    policy = connector_policy(connector)
    return {
        "default_access_level": policy.default_access_level,
        "admin_mail_recipients": list(policy.admin_mail_recipients or []),
        "user_mail_insert": policy.user_mail_insert,
        "rules": [{"characteristic": r.characteristic, "query_string": r.query_string, "access_level": r.access_level}
                  for r in connector.access_rules.all()],
    }
