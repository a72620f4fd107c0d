"""The connector's mobile device settings: five groups, one declaration per setting.

Each setting is keyed by the EAS mailbox policy parameter it writes (``Set-ActiveSyncMailboxPolicy``
names, reference §2) and carries the console's label (reference §3.2), its kind, its valid range and
the default Exchange gives a new policy. Defaults are what Exchange 2013 and later report for a new
policy (the New-MobileDeviceMailboxPolicy page, which the simulated organization follows) where the
older ActiveSync pages disagree: Unlimited password attempts and idle time, no minimum password
length, devices that cannot be provisioned allowed, storage cards not encrypted.

A configured value is stored in the console's unit (minutes, hours, days, KB) and as the EAS value
otherwise; ``exchange_value`` turns it into what the cmdlet parameter takes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Kinds of settings.
BOOL, INT, ENUM, MINUTES, HOURS, DAYS, KB, LIST = "bool", "int", "enum", "minutes", "hours", "days", "kb", "list"
NUMERIC = (INT, MINUTES, HOURS, DAYS, KB)
UNLIMITED = "Unlimited"
MAX_KB = 2097151  # 2,147,482,624 bytes, the largest size Exchange takes

GENERAL, PASSWORD, EMAIL, SECURITY, APPLICATION = "general", "password", "email_management", "security", "application"
GROUPS: dict[str, str] = {
    GENERAL: _("General"),
    PASSWORD: _("Password"),
    EMAIL: _("Email Management"),
    SECURITY: _("Security"),
    APPLICATION: _("Application"),
}

ALLOWED = ((True, _("Allowed")), (False, _("Prohibited")))
YES_NO = ((True, _("Yes")), (False, _("No")))
REQUIRED = ((True, _("Required")), (False, _("Not required")))


@dataclass(frozen=True)
class Setting:
    """One mobile device setting.

    Args:
        key: the EAS mailbox policy parameter it writes.
        group: the key of its group in ``GROUPS``.
        label: the console's label.
        kind: BOOL, INT, ENUM, MINUTES, HOURS, DAYS, KB or LIST.
        default: Exchange's default for a new policy, as ``exchange_value`` gives it (None: $null).
        name: how validation messages name it (the label without its unit).
        choices: (value, label) pairs of a BOOL or ENUM setting, in the order the console shows them.
        min_value, max_value: the valid range of a numeric setting, in its unit.
        unlimited: Exchange's value is Unlimited<T>; the default is Unlimited.
        also: further EAS parameters written with the same value.
    """

    key: str
    group: str
    label: str
    kind: str
    default: object
    help_text: str = ""
    name: str = ""
    choices: tuple = ()
    min_value: int | None = None
    max_value: int | None = None
    unlimited: bool = False
    also: tuple[str, ...] = field(default=())

    @property
    def message_name(self) -> str:
        return str(self.name or self.label)

    @property
    def unit(self) -> str:
        return {MINUTES: _("minutes"), HOURS: _("hours"), DAYS: _("days"), KB: "KB"}.get(self.kind, "")

    def range_message(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return _("%(name)s must be between %(min)s and %(max)s%(unit)s.") % {
            "name": self.message_name, "min": self.min_value, "max": self.max_value, "unit": unit}

    def validate(self, value) -> object:
        """The value if valid for this setting (None: not configured), else ValidationError."""
        if value is None:
            return None
        if self.kind == BOOL:
            if not isinstance(value, bool):
                raise ValidationError(_("%(name)s must be one of the listed choices.") % {"name": self.message_name})
        elif self.kind == ENUM:
            if value not in {v for v, _label in self.choices}:
                raise ValidationError(_("%(name)s must be one of: %(choices)s.") % {
                    "name": self.message_name, "choices": ", ".join(str(label) for _v, label in self.choices)})
        elif self.kind in NUMERIC:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError(_("%(name)s must be a whole number.") % {"name": self.message_name})
            if not self.min_value <= value <= self.max_value:
                raise ValidationError(self.range_message())
        elif self.kind == LIST:
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise ValidationError(_("%(name)s must be a list of names.") % {"name": self.message_name})
            too_long = [v for v in value if len(v) > 256]
            if too_long:
                raise ValidationError(_("%(name)s: “%(value)s…” is longer than 256 characters.") % {
                    "name": self.message_name, "value": too_long[0][:40]})
        return value

    def exchange_value(self, value) -> object:
        """What the cmdlet parameter takes for a configured ``value`` (the default when None)."""
        if value is None:
            return list(self.default) if self.kind == LIST else self.default
        if self.kind == MINUTES:
            return _timespan(minutes=value)
        if self.kind == HOURS:
            return _timespan(minutes=value * 60)
        if self.kind == DAYS:
            return _timespan(minutes=value * 1440)
        if self.kind == KB:
            return f"{value}KB"
        if self.kind == LIST:
            return list(value)
        return value

    def display(self, value) -> str:
        """How the console shows a configured value (or "Not configured")."""
        if value is None:
            return str(_("Not configured"))
        if self.choices:
            return str(dict(self.choices).get(value, value))
        if self.kind == LIST:
            return ", ".join(value) if value else str(_("(none)"))
        return f"{value} {self.unit}".strip()


def _timespan(*, minutes: int) -> str:
    """A TimeSpan as Exchange writes it: hh:mm:ss, or d.hh:mm:ss from one day on."""
    days, rest = divmod(minutes, 1440)
    text = f"{rest // 60:02d}:{rest % 60:02d}:00"
    return f"{days}.{text}" if days else text


SETTINGS: tuple[Setting, ...] = (
    # General
    Setting("AllowInternetSharing", GENERAL, _("Internet sharing from mobile devices"), BOOL, True,
            _("Tethering: sharing the device's data connection with computers."), choices=ALLOWED),
    Setting("AllowDesktopSync", GENERAL, _("Computer synchronization"), BOOL, True,
            _("Synchronizing with a computer through a cable, Bluetooth or infrared."), choices=ALLOWED),
    Setting("AllowNonProvisionableDevices", GENERAL, _("Allow mobile devices that cannot be provisioned"), BOOL, True,
            _("Lets devices that cannot enforce every setting sync anyway (including devices managed by another MDM)."),
            choices=YES_NO),
    Setting("DevicePolicyRefreshInterval", GENERAL, _("Refresh interval (hours)"), HOURS, UNLIMITED,
            _("How often Exchange sends the settings to devices again. Unlimited when not configured."),
            name=_("Refresh interval"), min_value=1, max_value=8760, unlimited=True),
    # Password
    Setting("DevicePasswordEnabled", PASSWORD, _("Require password settings on mobile devices"), BOOL, False,
            _("The other password settings apply only when a password is required."), choices=REQUIRED),
    Setting("MinDevicePasswordLength", PASSWORD, _("Minimum password length (characters)"), INT, None,
            _("1 to 16 characters. No minimum when not configured."), name=_("Minimum password length"),
            min_value=1, max_value=16),
    Setting("DevicePasswordExpiration", PASSWORD, _("Password expiration in days"), DAYS, UNLIMITED,
            _("1 to 730 days. Passwords never expire when not configured."), name=_("Password expiration"),
            min_value=1, max_value=730, unlimited=True),
    Setting("DevicePasswordHistory", PASSWORD, _("Number of passwords remembered"), INT, 0,
            _("0 to 50 previous passwords the user cannot reuse."), min_value=0, max_value=50),
    Setting("MaxDevicePasswordFailedAttempts", PASSWORD, _("Number of failed logon attempts before device is wiped"), INT,
            UNLIMITED, _("4 to 16. The device is wiped after this many wrong passwords; never when not configured."),
            name=_("Number of failed logon attempts"), min_value=4, max_value=16, unlimited=True),
    Setting("MaxInactivityTimeDeviceLock", PASSWORD, _("Idle time in minutes before mobile device is locked"), MINUTES,
            UNLIMITED, _("1 to 60 minutes. Never locked for inactivity when not configured."), name=_("Idle time"),
            min_value=1, max_value=60, unlimited=True),
    Setting("AlphanumericDevicePasswordRequired", PASSWORD, _("Password complexity"), BOOL, False,
            _("PIN allows digits only; Strong requires letters and digits."),
            choices=((False, _("PIN")), (True, _("Strong")))),
    Setting("MinDevicePasswordComplexCharacters", PASSWORD, _("Minimum number of complex characters"), INT, 1,
            _("1 to 4 character sets (lowercase, uppercase, digits, symbols) a strong password must use."),
            min_value=1, max_value=4),
    Setting("AllowSimpleDevicePassword", PASSWORD, _("Allow simple password"), BOOL, True,
            _("Simple passwords are patterns such as 1111 or 1234."), choices=YES_NO),
    Setting("PasswordRecoveryEnabled", PASSWORD, _("Password recovery"), BOOL, False,
            _("Stores a recovery password in Exchange that administrators and the user can read."),
            choices=((True, _("Enabled")), (False, _("Disabled")))),
    # Email Management
    Setting("AllowConsumerEmail", EMAIL, _("POP and IMAP email"), BOOL, True,
            _("Personal POP3 and IMAP4 email accounts on the device."), choices=ALLOWED, also=("AllowPOPIMAPEmail",)),
    Setting("MaxEmailAgeFilter", EMAIL, _("Maximum time to keep email"), ENUM, "All", choices=(
        ("All", _("All")), ("OneDay", _("One day")), ("ThreeDays", _("Three days")), ("OneWeek", _("One week")),
        ("TwoWeeks", _("Two weeks")), ("OneMonth", _("One month")))),
    Setting("MaxCalendarAgeFilter", EMAIL, _("Maximum time to keep calendar entries"), ENUM, "All", choices=(
        ("All", _("All")), ("TwoWeeks", _("Two weeks")), ("OneMonth", _("One month")), ("ThreeMonths", _("Three months")),
        ("SixMonths", _("Six months")))),
    Setting("RequireManualSyncWhenRoaming", EMAIL, _("Direct Push when roaming"), BOOL, False,
            _("Prohibited makes roaming devices synchronize manually only."),
            choices=((False, _("Allowed")), (True, _("Prohibited")))),
    Setting("AllowHTMLEmail", EMAIL, _("Allowed message formats"), BOOL, True,
            _("Plain text only converts HTML email to plain text."),
            choices=((True, _("HTML and plain text")), (False, _("Plain text only")))),
    Setting("MaxEmailBodyTruncationSize", EMAIL, _("Size limit (KB) for plain-text email"), KB, UNLIMITED,
            _("Larger messages are truncated on the device. Unlimited when not configured."),
            name=_("Size limit for plain-text email"), min_value=0, max_value=MAX_KB, unlimited=True),
    Setting("MaxEmailHTMLBodyTruncationSize", EMAIL, _("Size limit (KB) for HTML email"), KB, UNLIMITED,
            _("Larger messages are truncated on the device. Unlimited when not configured."),
            name=_("Size limit for HTML email"), min_value=0, max_value=MAX_KB, unlimited=True),
    Setting("AttachmentsEnabled", EMAIL, _("Email attachments"), BOOL, True, choices=ALLOWED),
    Setting("MaxAttachmentSize", EMAIL, _("Maximum size (KB) for attachments"), KB, UNLIMITED,
            _("Unlimited when not configured."), name=_("Maximum size for attachments"),
            min_value=0, max_value=MAX_KB, unlimited=True),
    # Security
    Setting("AllowRemoteDesktop", SECURITY, _("Remote Desktop"), BOOL, True,
            _("Needs an Exchange Enterprise CAL."), choices=ALLOWED),
    Setting("AllowStorageCard", SECURITY, _("Removable storage"), BOOL, True, choices=ALLOWED),
    Setting("AllowCamera", SECURITY, _("Camera"), BOOL, True, choices=ALLOWED),
    Setting("AllowBluetooth", SECURITY, _("Bluetooth"), ENUM, "Allow", choices=(
        ("Allow", _("Allowed")), ("HandsfreeOnly", _("Hands-free only")), ("Disable", _("Prohibited")))),
    Setting("AllowWiFi", SECURITY, _("Wireless network connections"), BOOL, True, choices=ALLOWED),
    Setting("AllowIrDA", SECURITY, _("Infrared"), BOOL, True, choices=ALLOWED),
    Setting("AllowBrowser", SECURITY, _("Browser"), BOOL, True, choices=ALLOWED),
    Setting("RequireStorageCardEncryption", SECURITY, _("Storage card encryption"), BOOL, False, choices=REQUIRED),
    Setting("RequireDeviceEncryption", SECURITY, _("File encryption on mobile device"), BOOL, False,
            _("Devices that cannot encrypt cannot sync."), choices=REQUIRED),
    Setting("AllowTextMessaging", SECURITY, _("SMS and MMS messaging"), BOOL, True, choices=ALLOWED),
    # Application
    Setting("AllowUnsignedInstallationPackages", APPLICATION, _("Unsigned file installation"), BOOL, True,
            choices=ALLOWED),
    Setting("AllowUnsignedApplications", APPLICATION, _("Unsigned applications"), BOOL, True, choices=ALLOWED),
    Setting("UnapprovedInROMApplicationList", APPLICATION, _("Block the following applications in ROM"), LIST, [],
            _("One application name per line."), name=_("Applications blocked in ROM")),
)

BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}

# Outside the groups: the connector always writes it.
EXTERNAL_MDM = Setting("AllowExternalDeviceManagement", "", _("Allow external mobile device management"), BOOL, False,
                       _("Lets devices that another mobile device management service also manages keep receiving email."),
                       choices=YES_NO)


def group_settings(group: str) -> tuple[Setting, ...]:
    return tuple(s for s in SETTINGS if s.group == group)


def validate_settings(values: dict) -> dict:
    """The configured settings of ``values`` (None dropped), or ValidationError keyed by parameter name."""
    errors: dict[str, list] = {}
    cleaned = {}
    for key, value in values.items():
        setting = BY_KEY.get(key)
        if setting is None:
            errors.setdefault(key, []).append(_("%(key)s is not a mobile device setting.") % {"key": key})
            continue
        try:
            value = setting.validate(value)
        except ValidationError as error:
            errors.setdefault(key, []).extend(error.messages)
            continue
        if value is not None:
            cleaned[key] = value
    others = [s for s in group_settings(PASSWORD) if s.key != "DevicePasswordEnabled" and s.key in cleaned]
    if others and cleaned.get("DevicePasswordEnabled") is not True and "DevicePasswordEnabled" not in errors:
        errors["DevicePasswordEnabled"] = [_(
            "The password settings apply only when a password is required: set “%(label)s” to Required, or leave "
            "%(others)s not configured.") % {"label": BY_KEY["DevicePasswordEnabled"].label,
                                             "others": ", ".join(f"“{s.label}”" for s in others)}]
    if errors:
        raise ValidationError(errors)
    return cleaned
