"""Saving settings and access rules (audited with what changed), and what the connector asks of Exchange."""
import pytest
from django.core.exceptions import ValidationError

from easconsole.models import AuditEvent, ExchangeConnector
from policies import services
from policies.models import AccessRule, ConnectorPolicy
from tests.factories import SiteFactory
from tests.personas import make_persona

pytestmark = pytest.mark.django_db

PASSWORD_DEFAULTS = {
    "DevicePasswordEnabled": True,
    "MinDevicePasswordLength": 6,
    "DevicePasswordExpiration": "Unlimited",
    "DevicePasswordHistory": 0,
    "MaxDevicePasswordFailedAttempts": "Unlimited",
    "MaxInactivityTimeDeviceLock": "Unlimited",
    "AlphanumericDevicePasswordRequired": False,
    "MinDevicePasswordComplexCharacters": 1,
    "AllowSimpleDevicePassword": True,
    "PasswordRecoveryEnabled": False,
}


@pytest.fixture
def connector():
    return ExchangeConnector.objects.create(name="Contoso Exchange", site=SiteFactory(code="P01"))


@pytest.fixture
def admin():
    return make_persona("full_admin")


def test_nothing_configured_manages_no_group():
    policy = ConnectorPolicy(settings={})
    assert services.managed_groups(policy) == []
    assert services.mailbox_policy_parameters(policy) == {"AllowExternalDeviceManagement": False}


def test_one_password_setting_brings_the_whole_password_group_with_defaults():
    policy = ConnectorPolicy(settings={"DevicePasswordEnabled": True, "MinDevicePasswordLength": 6}, allow_external_mdm=True)
    assert services.managed_groups(policy) == ["password"]
    assert services.mailbox_policy_parameters(policy) == {**PASSWORD_DEFAULTS, "AllowExternalDeviceManagement": True}


def test_each_managed_group_comes_whole_and_in_exchange_units():
    policy = ConnectorPolicy(settings={
        "MaxAttachmentSize": 1024, "AllowConsumerEmail": False, "DevicePolicyRefreshInterval": 24,
        "UnapprovedInROMApplicationList": ["calc.exe"],
    })
    assert services.managed_groups(policy) == ["general", "email_management", "application"]
    parameters = services.mailbox_policy_parameters(policy)
    assert parameters["MaxAttachmentSize"] == "1024KB"
    assert parameters["AllowConsumerEmail"] is False and parameters["AllowPOPIMAPEmail"] is False
    assert parameters["DevicePolicyRefreshInterval"] == "1.00:00:00"
    assert parameters["AllowInternetSharing"] is True  # unset in a managed group: Exchange's default
    assert parameters["MaxEmailAgeFilter"] == "All"
    assert parameters["UnapprovedInROMApplicationList"] == ["calc.exe"]
    assert "AllowCamera" not in parameters and "DevicePasswordEnabled" not in parameters


def test_saving_settings_is_audited_with_what_changed(connector, admin):
    services.policy_settings_save(connector=connector, user=admin, values={"AllowCamera": False, "AllowWiFi": None},
                                  allow_external_mdm=False, address="10.0.0.5")
    services.policy_settings_save(connector=connector, user=admin, values={"AllowCamera": True, "AllowBluetooth": "HandsfreeOnly"},
                                  allow_external_mdm=True)
    connector.refresh_from_db()
    assert connector.policy.settings == {"AllowCamera": True, "AllowBluetooth": "HandsfreeOnly"}
    first, second = AuditEvent.objects.filter(object_type="mobile device settings").order_by("pk")
    assert (first.action, first.object_id, first.object_repr, first.address) == ("modify", str(connector.pk), "Contoso Exchange", "10.0.0.5")
    assert first.changes == {"AllowCamera": ["Not configured", "False"]}
    assert second.changes == {"AllowCamera": ["False", "True"], "AllowBluetooth": ["Not configured", "HandsfreeOnly"],
                              "AllowExternalDeviceManagement": ["False", "True"]}
    assert second.message == "Managed groups: Security."


def test_bad_settings_are_refused_and_nothing_is_saved(connector, admin):
    with pytest.raises(ValidationError, match="Minimum password length must be between 1 and 16"):
        services.policy_settings_save(connector=connector, user=admin, values={"DevicePasswordEnabled": True, "MinDevicePasswordLength": 17},
                                      allow_external_mdm=False)
    assert not ConnectorPolicy.objects.exists()
    assert not AuditEvent.objects.filter(object_type="mobile device settings").exists()


RULES = [
    {"characteristic": "DeviceType", "query_string": "iPhone", "access_level": "Allow"},
    {"characteristic": "DeviceModel", "query_string": "ContosoPhone", "access_level": "Block"},
]


def test_access_settings_replace_the_rule_set_and_are_audited(connector, admin):
    services.access_settings_save(connector=connector, user=admin, default_access_level="Quarantine",
                                  admin_mail_recipients=["helpdesk@contoso.com"], user_mail_insert="Call 1234.", rules=RULES)
    kept = AccessRule.objects.get(query_string="iPhone")
    services.access_settings_save(connector=connector, user=admin, default_access_level="Quarantine",
                                  admin_mail_recipients=["helpdesk@contoso.com"], user_mail_insert="Call 1234.",
                                  rules=[{**RULES[0], "access_level": "Block"},
                                         {"characteristic": "DeviceOS", "query_string": "Android 4.4", "access_level": "Quarantine"}])
    assert sorted(str(r) for r in connector.access_rules.all()) == ["Android 4.4 (DeviceOS)", "iPhone (DeviceType)"]
    assert AccessRule.objects.get(query_string="iPhone").pk == kept.pk  # changed in place, as Set-ActiveSyncDeviceAccessRule would
    first, second = AuditEvent.objects.filter(object_type="access rules").order_by("pk")
    assert first.changes == {
        "default_access_level": ["Allow", "Quarantine"], "admin_mail_recipients": ["", "helpdesk@contoso.com"],
        "user_mail_insert": ["", "Call 1234."], "rule iPhone (DeviceType)": ["", "Allow"], "rule ContosoPhone (DeviceModel)": ["", "Block"],
    }
    assert second.changes == {
        "rule iPhone (DeviceType)": ["Allow", "Block"], "rule ContosoPhone (DeviceModel)": ["Block", ""],
        "rule Android 4.4 (DeviceOS)": ["", "Quarantine"],
    }


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"rules": [RULES[0], {**RULES[0], "query_string": "IPHONE", "access_level": "Block"}]}, "listed twice"),
    ({"rules": [{**RULES[0], "query_string": "iPhone*"}]}, "wildcards such as \\* are not supported"),
    ({"rules": [{**RULES[0], "characteristic": "Colour"}]}, "not a valid choice"),
    ({"admin_mail_recipients": ["not-an-address"]}, "Not an email address: not-an-address"),
    ({"user_mail_insert": "x" * 257}, "at most 256 characters"),
])
def test_bad_access_settings_change_nothing(connector, admin, kwargs, message):
    arguments = {"default_access_level": "Block", "admin_mail_recipients": [], "user_mail_insert": "", "rules": RULES[:1], **kwargs}
    with pytest.raises(ValidationError, match=message):
        services.access_settings_save(connector=connector, user=admin, **arguments)
    assert not AccessRule.objects.exists() and not ConnectorPolicy.objects.exists()
    assert not AuditEvent.objects.filter(object_type="access rules").exists()


def test_access_rule_is_named_as_exchange_names_it(connector):
    rule = AccessRule(connector=connector, characteristic="DeviceModel", query_string="ContosoPhone", access_level="Block")
    assert str(rule) == "ContosoPhone (DeviceModel)"
