"""The Settings and Access Rules forms: standalone (data=, prefix=, initial=), plain values out."""
import pytest

from easconsole.models import ExchangeConnector
from policies import services
from policies.forms import AccessRuleFormSet, AccessSettingsForm, PolicySettingsForm, access_initial, policy_initial
from tests.factories import SiteFactory
from tests.personas import make_persona


def rules_data(prefix: str, rows: list[tuple[str, str, str]], initial: int = 0, deleted=()) -> dict:
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": str(initial)}
    for i, (characteristic, query, level) in enumerate(rows):
        data.update({f"{prefix}-{i}-characteristic": characteristic, f"{prefix}-{i}-query_string": query,
                     f"{prefix}-{i}-access_level": level})
        if i in deleted:
            data[f"{prefix}-{i}-DELETE"] = "on"
    return data


def test_not_configured_is_not_false():
    form = PolicySettingsForm({"AllowCamera": "False", "AllowWiFi": "", "MaxAttachmentSize": "", "MaxEmailAgeFilter": ""})
    assert form.is_valid(), form.errors
    assert form.values() == {"AllowCamera": False}
    assert form.service_kwargs() == {"values": {"AllowCamera": False}, "allow_external_mdm": False}


def test_every_setting_offers_not_configured():
    form = PolicySettingsForm()
    html = form.as_p()
    assert html.count(">Not configured</option>") == sum(1 for f in form.fields.values() if hasattr(f, "choices"))
    assert 'name="MinDevicePasswordLength"' in html and 'min="1"' in html and 'max="16"' in html


@pytest.mark.parametrize(("field", "value", "message"), [
    ("MinDevicePasswordLength", "17", "Minimum password length must be between 1 and 16."),
    ("MinDevicePasswordLength", "0", "Minimum password length must be between 1 and 16."),
    ("MaxInactivityTimeDeviceLock", "-5", "Idle time must be between 1 and 60 minutes."),
    ("MinDevicePasswordLength", "six", "Minimum password length must be a whole number."),
    ("MaxDevicePasswordFailedAttempts", "3", "Number of failed logon attempts must be between 4 and 16."),
    ("DevicePasswordHistory", "51", "Number of passwords remembered must be between 0 and 50."),
    ("MaxInactivityTimeDeviceLock", "0", "Idle time must be between 1 and 60 minutes."),
    ("DevicePasswordExpiration", "731", "Password expiration must be between 1 and 730 days."),
    ("MaxAttachmentSize", "-1", "Maximum size for attachments must be between 0 and 2097151 KB."),
    ("AllowBluetooth", "Sometimes", "Select a valid choice."),
])
def test_range_messages_name_the_setting(field, value, message):
    form = PolicySettingsForm({"DevicePasswordEnabled": "True", field: value})
    assert not form.is_valid()
    assert message in form.errors[field][0]


def test_password_settings_without_a_required_password_are_refused():
    form = PolicySettingsForm({"MinDevicePasswordLength": "6"})
    assert not form.is_valid()
    assert "to Required" in form.errors["DevicePasswordEnabled"][0]


def test_prefix_and_list_settings():
    form = PolicySettingsForm({"4-UnapprovedInROMApplicationList": "calc.exe\n solitaire.exe, calc.exe\n", "4-allow_external_mdm": "on"},
                              prefix="4")
    assert form.is_valid(), form.errors
    assert form.service_kwargs() == {"values": {"UnapprovedInROMApplicationList": ["calc.exe", "solitaire.exe"]},
                                     "allow_external_mdm": True}
    assert form.summary()[0] == ("Application", [("Block the following applications in ROM", "calc.exe, solitaire.exe")])


@pytest.mark.django_db
def test_initial_shows_what_is_stored_and_round_trips():
    connector = ExchangeConnector.objects.create(name="Contoso", site=SiteFactory(code="P01"))
    assert policy_initial(connector) == {"allow_external_mdm": False}
    services.policy_settings_save(connector=connector, user=make_persona("full_admin"),
                                  values={"AllowCamera": False, "MaxInactivityTimeDeviceLock": 10, "DevicePasswordEnabled": True,
                                          "UnapprovedInROMApplicationList": ["calc.exe"]}, allow_external_mdm=True)
    initial = policy_initial(connector)
    form = PolicySettingsForm(initial=initial)
    html = form.as_p()
    assert '<option value="False" selected>Prohibited</option>' in html
    assert 'value="10"' in html and "calc.exe</textarea>" in html
    # What a browser sends back unchanged gives the same values.
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("\n".join(v) if isinstance(v, list) else v) for k, v in data.items() if v is not None and v != ""}
    bound = PolicySettingsForm({k: str(v) for k, v in data.items()})
    assert bound.is_valid(), bound.errors
    assert bound.values() == {"DevicePasswordEnabled": True, "MaxInactivityTimeDeviceLock": 10, "AllowCamera": False,
                              "UnapprovedInROMApplicationList": ["calc.exe"]}


def test_read_only_form_disables_every_field():
    form = PolicySettingsForm(read_only=True)
    assert all(field.disabled for field in form.fields.values())


def access_data(prefix="5", rows=(), **fields):
    data = {f"{prefix}-default_access_level": "Quarantine", f"{prefix}-admin_mail_recipients": "a@contoso.com, b@contoso.com",
            f"{prefix}-user_mail_insert": "Call the help desk."}
    data.update({f"{prefix}-{k}": v for k, v in fields.items()})
    data.update(rules_data(f"{prefix}-rules", list(rows)))
    return data


def test_access_settings_give_plain_values():
    form = AccessSettingsForm(access_data(rows=[("DeviceType", "iPhone", "Allow"), ("DeviceModel", "", "Allow")]), prefix="5")
    assert not form.is_valid()  # the second row has no query string
    assert form.rules.errors[1]["query_string"] == ["Enter the exact value to match."]
    assert "Correct the access rules below." in form.non_field_errors()

    # An extra row left as it came (no query string, default choices) is not a rule.
    data = access_data(rows=[("DeviceType", "iPhone", "Block"), ("DeviceType", "", "Allow")])
    form = AccessSettingsForm(data, prefix="5")
    assert form.is_valid(), (form.errors, form.rules.errors)
    assert form.service_kwargs() == {
        "default_access_level": "Quarantine", "admin_mail_recipients": ["a@contoso.com", "b@contoso.com"],
        "user_mail_insert": "Call the help desk.",
        "rules": [{"characteristic": "DeviceType", "query_string": "iPhone", "access_level": "Block"}],
    }


def test_duplicate_rules_are_refused_with_a_message():
    form = AccessSettingsForm(access_data(rows=[("DeviceType", "iPhone", "Allow"), ("DeviceType", "IPHONE", "Block")]), prefix="5")
    assert not form.is_valid()
    assert form.rules.non_form_errors() == ["There are two rules for “IPHONE (DeviceType)”. Keep one rule per value."]


def test_the_same_value_for_another_characteristic_is_no_duplicate():
    form = AccessSettingsForm(access_data(rows=[("DeviceType", "iPhone", "Allow"), ("DeviceModel", "iPhone", "Block")]), prefix="5")
    assert form.is_valid(), form.rules.non_form_errors()


def test_deleted_rows_are_dropped_and_unchanged_ones_kept():
    data = access_data(prefix="x", rows=[("DeviceType", "iPhone", "Allow"), ("DeviceOS", "Android 4.4", "Block")])
    data.update({"x-rules-INITIAL_FORMS": "2", "x-rules-1-DELETE": "on"})
    initial = {"rules": [{"characteristic": "DeviceType", "query_string": "iPhone", "access_level": "Allow"},
                         {"characteristic": "DeviceOS", "query_string": "Android 4.4", "access_level": "Block"}]}
    form = AccessSettingsForm(data, prefix="x", initial=initial)
    assert form.is_valid(), form.rules.errors
    assert form.cleaned_data["rules"] == [{"characteristic": "DeviceType", "query_string": "iPhone", "access_level": "Allow"}]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("admin_mail_recipients", "helpdesk@contoso.com\nnobody", "Not an email address: “nobody”."),
    ("user_mail_insert", "x" * 257, "at most 256 characters (it has 257)"),
])
def test_access_settings_messages(field, value, message):
    form = AccessSettingsForm(access_data(**{field: value}), prefix="5")
    assert not form.is_valid()
    assert message in form.errors[field][0]


def test_wildcards_are_refused():
    form = AccessSettingsForm(access_data(rows=[("DeviceModel", "iPhone*", "Block")]), prefix="5")
    assert not form.is_valid()
    assert "wildcards such as * are not supported" in form.rules.errors[0]["query_string"][0]


def test_formset_alone():
    formset = AccessRuleFormSet(rules_data("r", [("UserAgent", "Outlook-iOS/2.0", "Quarantine")]), prefix="r")
    assert formset.is_valid()
    assert formset.rules() == [{"characteristic": "UserAgent", "query_string": "Outlook-iOS/2.0", "access_level": "Quarantine"}]


@pytest.mark.django_db
def test_access_initial():
    connector = ExchangeConnector.objects.create(name="Contoso", site=SiteFactory(code="P01"))
    assert access_initial(connector) == {"default_access_level": "Allow", "admin_mail_recipients": [], "user_mail_insert": "", "rules": []}
    assert access_initial(None)["default_access_level"] == "Allow"
    services.access_settings_save(connector=connector, user=None, default_access_level="Block", admin_mail_recipients=["a@contoso.com"],
                                  user_mail_insert="", rules=[{"characteristic": "DeviceType", "query_string": "iPhone", "access_level": "Allow"}])
    initial = access_initial(connector)
    assert initial["rules"] == [{"characteristic": "DeviceType", "query_string": "iPhone", "access_level": "Allow"}]
    form = AccessSettingsForm(initial=initial, read_only=True)
    assert len(form.rules.forms) == 1 and all(f.disabled for f in form.rules.forms[0].fields.values())
    assert "a@contoso.com</textarea>" in form.as_p()


def test_access_summary_for_the_wizard():
    form = AccessSettingsForm(access_data(rows=[("DeviceModel", "ContosoPhone", "Block")]), prefix="5")
    assert form.is_valid()
    assert form.summary() == [
        ("Default access level", [("Default access level", "Quarantine")]),
        ("Quarantine notification", [("Administrators who receive quarantine email", "a@contoso.com, b@contoso.com"),
                                     ("Text added to the email a user receives when a device is quarantined", "Call the help desk.")]),
        ("Access rules", [("ContosoPhone (DeviceModel)", "Block")]),
    ]
