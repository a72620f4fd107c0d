"""The settings catalog: five groups, the reference's ranges, a clear message for each bad value."""
import pytest
from django.core.exceptions import ValidationError

from policies import catalog

EXPECTED_GROUPS = {
    "general": ["AllowInternetSharing", "AllowDesktopSync", "AllowNonProvisionableDevices", "DevicePolicyRefreshInterval"],
    "password": ["DevicePasswordEnabled", "MinDevicePasswordLength", "DevicePasswordExpiration", "DevicePasswordHistory",
                 "MaxDevicePasswordFailedAttempts", "MaxInactivityTimeDeviceLock", "AlphanumericDevicePasswordRequired",
                 "MinDevicePasswordComplexCharacters", "AllowSimpleDevicePassword", "PasswordRecoveryEnabled"],
    "email_management": ["AllowConsumerEmail", "MaxEmailAgeFilter", "MaxCalendarAgeFilter", "RequireManualSyncWhenRoaming",
                         "AllowHTMLEmail", "MaxEmailBodyTruncationSize", "MaxEmailHTMLBodyTruncationSize",
                         "AttachmentsEnabled", "MaxAttachmentSize"],
    "security": ["AllowRemoteDesktop", "AllowStorageCard", "AllowCamera", "AllowBluetooth", "AllowWiFi", "AllowIrDA",
                 "AllowBrowser", "RequireStorageCardEncryption", "RequireDeviceEncryption", "AllowTextMessaging"],
    "application": ["AllowUnsignedInstallationPackages", "AllowUnsignedApplications", "UnapprovedInROMApplicationList"],
}


def test_five_groups_with_the_reference_settings():
    assert list(catalog.GROUPS) == list(EXPECTED_GROUPS)
    assert {g: [s.key for s in catalog.group_settings(g)] for g in catalog.GROUPS} == EXPECTED_GROUPS
    assert [str(label) for label in catalog.GROUPS.values()] == ["General", "Password", "Email Management", "Security", "Application"]
    assert catalog.EXTERNAL_MDM.key == "AllowExternalDeviceManagement" and catalog.EXTERNAL_MDM.default is False


@pytest.mark.parametrize(("key", "low", "high", "message"), [
    ("MinDevicePasswordLength", 1, 16, "Minimum password length must be between 1 and 16."),
    ("MaxDevicePasswordFailedAttempts", 4, 16, "Number of failed logon attempts must be between 4 and 16."),
    ("DevicePasswordHistory", 0, 50, "Number of passwords remembered must be between 0 and 50."),
    ("MinDevicePasswordComplexCharacters", 1, 4, "Minimum number of complex characters must be between 1 and 4."),
    ("MaxInactivityTimeDeviceLock", 1, 60, "Idle time must be between 1 and 60 minutes."),
    ("DevicePasswordExpiration", 1, 730, "Password expiration must be between 1 and 730 days."),
    ("DevicePolicyRefreshInterval", 1, 8760, "Refresh interval must be between 1 and 8760 hours."),
    ("MaxAttachmentSize", 0, 2097151, "Maximum size for attachments must be between 0 and 2097151 KB."),
    ("MaxEmailBodyTruncationSize", 0, 2097151, "Size limit for plain-text email must be between 0 and 2097151 KB."),
])
def test_numeric_ranges_and_their_messages(key, low, high, message):
    setting = catalog.BY_KEY[key]
    assert setting.validate(low) == low and setting.validate(high) == high
    for bad in (low - 1, high + 1):
        with pytest.raises(ValidationError) as error:
            setting.validate(bad)
        assert error.value.messages == [message]
    with pytest.raises(ValidationError, match="must be a whole number"):
        setting.validate("6")


@pytest.mark.parametrize(("key", "good", "bad"), [
    ("AllowBluetooth", ["Disable", "HandsfreeOnly", "Allow"], "Sometimes"),
    ("MaxEmailAgeFilter", ["All", "OneDay", "ThreeDays", "OneWeek", "TwoWeeks", "OneMonth"], "SixMonths"),
    ("MaxCalendarAgeFilter", ["All", "TwoWeeks", "OneMonth", "ThreeMonths", "SixMonths"], "OneDay"),
])
def test_enums(key, good, bad):
    setting = catalog.BY_KEY[key]
    assert sorted(v for v, _label in setting.choices) == sorted(good)
    assert all(setting.validate(v) == v for v in good)
    with pytest.raises(ValidationError, match="must be one of"):
        setting.validate(bad)


def test_booleans_and_lists_refuse_other_types():
    with pytest.raises(ValidationError, match="Camera must be one of the listed choices"):
        catalog.BY_KEY["AllowCamera"].validate("no")
    with pytest.raises(ValidationError, match="must be a list of names"):
        catalog.BY_KEY["UnapprovedInROMApplicationList"].validate("calc.exe")


def test_password_complexity_is_alphanumeric_required():
    setting = catalog.BY_KEY["AlphanumericDevicePasswordRequired"]
    assert str(setting.label) == "Password complexity"
    assert {str(label): value for value, label in setting.choices} == {"PIN": False, "Strong": True}


def test_exchange_values_in_the_cmdlets_format():
    assert catalog.BY_KEY["MaxInactivityTimeDeviceLock"].exchange_value(15) == "00:15:00"
    assert catalog.BY_KEY["MaxInactivityTimeDeviceLock"].exchange_value(60) == "01:00:00"
    assert catalog.BY_KEY["DevicePasswordExpiration"].exchange_value(90) == "90.00:00:00"
    assert catalog.BY_KEY["DevicePolicyRefreshInterval"].exchange_value(36) == "1.12:00:00"
    assert catalog.BY_KEY["MaxAttachmentSize"].exchange_value(512) == "512KB"
    assert catalog.BY_KEY["MaxAttachmentSize"].exchange_value(None) == "Unlimited"
    assert catalog.BY_KEY["MinDevicePasswordLength"].exchange_value(None) is None
    assert catalog.BY_KEY["UnapprovedInROMApplicationList"].exchange_value(None) == []


def test_validate_settings_names_each_problem():
    with pytest.raises(ValidationError) as error:
        catalog.validate_settings({"MinDevicePasswordLength": 0, "AllowTeleport": True, "DevicePasswordEnabled": True})
    assert error.value.message_dict == {
        "MinDevicePasswordLength": ["Minimum password length must be between 1 and 16."],
        "AllowTeleport": ["AllowTeleport is not a mobile device setting."],
    }


def test_password_settings_need_a_required_password():
    with pytest.raises(ValidationError) as error:
        catalog.validate_settings({"MinDevicePasswordLength": 6})
    assert "set “Require password settings on mobile devices” to Required" in error.value.message_dict["DevicePasswordEnabled"][0]
    with pytest.raises(ValidationError):
        catalog.validate_settings({"DevicePasswordEnabled": False, "DevicePasswordHistory": 5})
    assert catalog.validate_settings({"DevicePasswordEnabled": True, "MinDevicePasswordLength": 6, "AllowCamera": None}) == {
        "DevicePasswordEnabled": True, "MinDevicePasswordLength": 6}
    # Saying "no password" on its own is a valid choice.
    assert catalog.validate_settings({"DevicePasswordEnabled": False}) == {"DevicePasswordEnabled": False}
