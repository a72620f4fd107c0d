"""Static data the generator draws from: device profiles, names, carriers, and policy defaults.

Values imitate what Exchange records from real EAS clients (DeviceType from the EAS URL, DeviceModel
and DeviceOS from Settings/DeviceInformation, the User-Agent header).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """One kind of EAS client. `os_builds` are (DeviceOS, user-agent build suffix) pairs."""

    weight: int
    device_type: str
    model: str
    os_builds: tuple[tuple[str, str], ...]
    user_agent: str  # "{build}" is replaced by the build suffix
    eas_versions: tuple[str, ...]
    friendly: str  # "{first}" is replaced by the owner's first name
    client_type: str = "EAS"
    has_phone: bool = True
    wipe_supported: bool = True
    provisionable: bool = True
    legacy: bool = False  # an old client: mostly inactive for months


_IOS = (("iOS 17.5.1 21F90", "2105.90"), ("iOS 17.4.1 21E236", "2104.236"), ("iOS 16.7.8 20H343", "2008.343"),
        ("iOS 18.1 22B83", "2201.83"), ("iOS 17.6.1 21G93", "2106.93"))
_IPADOS = (("iOS 17.5.1 21F90", "2105.90"), ("iOS 16.7.8 20H343", "2008.343"), ("iOS 18.0.1 22A3370", "2200.3370"))
_ANDROID = (("Android 14.0.0", "140000"), ("Android 13.0.0", "130000"), ("Android 12.1.0", "121000"))

PROFILES: tuple[Profile, ...] = (
    Profile(20, "iPhone", "iPhone15C2", _IOS, "Apple-iPhone15C2/{build}", ("16.1",), "{first}'s iPhone"),
    Profile(14, "iPhone", "iPhone16C1", _IOS, "Apple-iPhone16C1/{build}", ("16.1",), "{first}'s iPhone"),
    Profile(8, "iPhone", "iPhone14C5", _IOS, "Apple-iPhone14C5/{build}", ("16.1", "16.0"), "iPhone"),
    Profile(6, "iPad", "iPad13C1", _IPADOS, "Apple-iPad13C1/{build}", ("16.1",), "{first}'s iPad", has_phone=False),
    Profile(9, "SAMSUNGSMG998B", "SM-G998B", _ANDROID, "Android-SAMSUNG-SM-G998B/101.{build}", ("16.0",),
            "Galaxy S21 Ultra 5G"),
    Profile(7, "SAMSUNGSMS918B", "SM-S918B", _ANDROID, "Android-SAMSUNG-SM-S918B/101.{build}", ("16.1",),
            "Galaxy S23 Ultra"),
    Profile(5, "Android", "Pixel 8", _ANDROID, "Android/{build}-EAS-2.0", ("16.1", "14.1"), "{first}'s Pixel"),
    Profile(16, "Outlook", "Outlook for iOS and Android", (("Outlook for iOS and Android 1.0", "1.0"),),
            "Outlook-iOS-Android/1.0", ("16.1",), "Outlook", client_type="Outlook", has_phone=False),
    Profile(5, "WindowsMail", "Surface Pro 9", (("Windows 10.0.22631", "10.0.22631"), ("Windows 10.0.19045", "10.0.19045")),
            "MSFT-WIN-3/{build}", ("16.1",), "{first}-SURFACE", has_phone=False),
    # Legacy clients: old protocol versions, usually abandoned (no sync for months).
    Profile(3, "WP8", "RM-1104_1001", (("Windows Phone 10.0.15254", "10.0.15254"),), "MSFT-WP/{build}",
            ("14.1",), "Windows Phone", legacy=True),
    Profile(2, "BlackBerry", "BBB100-2", (("Android 8.1.0", "81000"),), "BlackBerry-BBB100-2/{build}",
            ("14.1",), "BlackBerry KEYone", legacy=True),
    Profile(2, "iPhone", "iPhone9C3", (("iOS 12.5.7 16H81", "1605.81"), ("iOS 11.4.1 15G77", "1504.77")),
            "Apple-iPhone9C3/{build}", ("14.1", "16.0"), "iPhone", legacy=True),
    Profile(1, "PalmPre", "Pre", (("Palm webOS 2.2.4", "2.2.4"),), "Palm-Pre/{build}", ("12.0",), "Palm Pre",
            wipe_supported=False, provisionable=False, legacy=True),
)

FRIENDLY_BY_MODEL = {p.model: p.friendly for p in PROFILES}

FIRST_NAMES = (
    "Anna", "Ben", "Chloe", "David", "Emma", "Farid", "Grace", "Hiro", "Isabel", "Jonas", "Kara", "Liam",
    "Maya", "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wei", "Xena", "Yusuf",
    "Zoe", "Alice", "Bruno", "Carla", "Dmitri", "Elena", "Felix", "Gita", "Hannah", "Ivan", "Julia", "Kenji",
    "Lena", "Marco", "Nadia", "Oscar", "Priya", "Rafael", "Sofia", "Tomas", "Ursula", "Victor", "Wanda",
    "Yara", "Ahmed", "Beatriz", "Connor", "Daniela", "Erik", "Fatima", "George", "Helena", "Igor", "Jana",
)
LAST_NAMES = (
    "Smith", "Johnson", "Garcia", "Müller", "Rossi", "Dubois", "Nowak", "Kim", "Tanaka", "Silva", "Jensen",
    "Novak", "Petrov", "Cohen", "Okafor", "Haddad", "Larsen", "Moreau", "Schmidt", "Brown", "Wilson", "Lopez",
    "Nguyen", "Chen", "Patel", "Kowalski", "Andersson", "Fischer", "Romano", "Santos", "Yilmaz", "Ivanova",
    "Murphy", "O'Brien", "Walsh", "Bauer", "Keller", "Costa", "Ferreira", "Lindqvist", "Hoffmann", "Weber",
    "Meyer", "Wagner", "Becker", "Schulz", "Richter", "Klein", "Wolf", "Neumann", "Vogel", "Hartmann",
)
OPERATORS = ("Vodafone", "T-Mobile", "Orange", "AT&T", "Verizon", "O2 - DE", "Telekom.de", "Swisscom", "")
LANGUAGES = ("en-US", "en-US", "en-GB", "de-DE", "fr-FR", "es-ES")

DEFAULT_PASSWORD = "Passw0rd!Demo"  # fixed demo password of the default service account

# §2 of the reference: the *-ActiveSyncMailboxPolicy parameters. Where the reference's sources disagree,
# the defaults are those of Exchange 2013+ (its "MD" column: AllowNonProvisionableDevices $true,
# MinDevicePasswordLength $null, MaxDevicePasswordFailedAttempts and MaxInactivityTimeDeviceLock
# Unlimited), because there the *-ActiveSyncMailboxPolicy cmdlets are aliases of the MobileDevice ones.
# Unlimited<T> values are kept as the string Exchange prints ("Unlimited", "8", "00:15:00").
POLICY_DEFAULTS: dict[str, object] = {
    "AllowNonProvisionableDevices": True,
    "AlphanumericDevicePasswordRequired": False,
    "AttachmentsEnabled": True,
    "DeviceEncryptionEnabled": False,
    "RequireStorageCardEncryption": False,
    "DevicePasswordEnabled": False,
    "PasswordRecoveryEnabled": False,
    "DevicePolicyRefreshInterval": "Unlimited",
    "AllowSimpleDevicePassword": True,
    "MaxAttachmentSize": "Unlimited",
    "WSSAccessEnabled": True,
    "UNCAccessEnabled": True,
    "MinDevicePasswordLength": None,
    "MaxInactivityTimeDeviceLock": "Unlimited",
    "MaxDevicePasswordFailedAttempts": "Unlimited",
    "DevicePasswordExpiration": "Unlimited",
    "DevicePasswordHistory": 0,
    "MinDevicePasswordComplexCharacters": 1,
    "AllowStorageCard": True,
    "AllowCamera": True,
    "RequireDeviceEncryption": False,
    "AllowUnsignedApplications": True,
    "AllowUnsignedInstallationPackages": True,
    "AllowWiFi": True,
    "AllowTextMessaging": True,
    "AllowPOPIMAPEmail": True,
    "AllowIrDA": True,
    "RequireManualSyncWhenRoaming": False,
    "AllowDesktopSync": True,
    "AllowHTMLEmail": True,
    "RequireSignedSMIMEMessages": False,
    "RequireEncryptedSMIMEMessages": False,
    "AllowSMIMESoftCerts": True,
    "AllowBrowser": True,
    "AllowConsumerEmail": True,
    "AllowRemoteDesktop": True,
    "AllowInternetSharing": True,
    "AllowBluetooth": "Allow",
    "MaxCalendarAgeFilter": "All",
    "MaxEmailAgeFilter": "All",
    "RequireSignedSMIMEAlgorithm": "SHA1",
    "RequireEncryptionSMIMEAlgorithm": "TripleDES",
    "AllowSMIMEEncryptionAlgorithmNegotiation": "AllowAnyAlgorithmNegotiation",
    "MaxEmailBodyTruncationSize": "Unlimited",
    "MaxEmailHTMLBodyTruncationSize": "Unlimited",
    "UnapprovedInROMApplicationList": [],
    "ApprovedApplicationList": [],
    "AllowExternalDeviceManagement": False,
    "AllowMobileOTAUpdate": True,
    "IrmEnabled": True,
}

# Value kinds for Set-/New-ActiveSyncMailboxPolicy: bool, int, enum choices, "unlimited-int",
# "unlimited-span" (hh:mm:ss or d.hh:mm:ss), "unlimited-size", list.
_ENUMS = {
    "AllowBluetooth": ("Disable", "HandsfreeOnly", "Allow"),
    "MaxCalendarAgeFilter": ("All", "TwoWeeks", "OneMonth", "ThreeMonths", "SixMonths"),
    "MaxEmailAgeFilter": ("All", "OneDay", "ThreeDays", "OneWeek", "TwoWeeks", "OneMonth"),
    "RequireSignedSMIMEAlgorithm": ("SHA1", "MD5"),
    "RequireEncryptionSMIMEAlgorithm": ("DES", "TripleDES", "RC240bit", "RC264bit", "RC2128bit"),
    "AllowSMIMEEncryptionAlgorithmNegotiation": ("BlockNegotiation", "OnlyStrongAlgorithmNegotiation",
                                                 "AllowAnyAlgorithmNegotiation"),
}
POLICY_KINDS: dict[str, object] = {}
for _name, _default in POLICY_DEFAULTS.items():
    if _name in _ENUMS:
        POLICY_KINDS[_name] = _ENUMS[_name]
    elif isinstance(_default, bool):
        POLICY_KINDS[_name] = "bool"
    elif isinstance(_default, list):
        POLICY_KINDS[_name] = "list"
    elif _name in ("DevicePolicyRefreshInterval", "MaxInactivityTimeDeviceLock", "DevicePasswordExpiration"):
        POLICY_KINDS[_name] = "unlimited-span"
    elif _name in ("MaxAttachmentSize", "MaxEmailBodyTruncationSize", "MaxEmailHTMLBodyTruncationSize"):
        POLICY_KINDS[_name] = "unlimited-size"
    elif _name == "MaxDevicePasswordFailedAttempts":
        POLICY_KINDS[_name] = "unlimited-int"
    else:
        POLICY_KINDS[_name] = "int"
# Ranges the cmdlets validate (reference §2).
POLICY_RANGES = {
    "MinDevicePasswordLength": (1, 16),
    "MinDevicePasswordComplexCharacters": (1, 4),
    "DevicePasswordHistory": (0, 50),
    "MaxDevicePasswordFailedAttempts": (4, 16),
}
POLICY_SPAN_RANGES = {
    "MaxInactivityTimeDeviceLock": (dt.timedelta(seconds=30), dt.timedelta(hours=1)),
    "DevicePasswordExpiration": (dt.timedelta(days=1), dt.timedelta(days=730)),
}
