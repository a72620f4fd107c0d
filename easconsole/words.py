"""Exchange's enum tokens and model codes in plain words (the raw value stays available for a tooltip).

Exchange reports states as tokens (``DeviceWipePending``, ``DeviceDiscovery``, ``AppliedInFull``) and
phones report model codes (``iPhone16C1``, ``SM-S918B``). Lists, filters, details and reports show
the words; the token is kept in the ``title`` so an administrator who knows Exchange can still read it.
A token not listed here is shown as it came.
"""
from __future__ import annotations

from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from easconsole.text import visible

# DeviceAccessState
ACCESS_STATES = {
    "Allowed": _("Allowed"),
    "Blocked": _("Blocked"),
    "Quarantined": _("Quarantined"),
    "DeviceDiscovery": _("Quarantined: discovery"),
    "Unknown": _("Unknown"),
}
# DeviceAccessStateReason
ACCESS_REASONS = {
    "Global": _("Organization's default"),
    "Individual": _("Set for this device"),
    "DeviceRule": _("Access rule"),
    "Policy": _("Mailbox policy"),
    "Upgrade": _("Upgrade grace period"),
    "ExternalCompliance": _("External compliance"),
    "ExternallyManaged": _("Managed by another MDM"),
    "Unknown": _("Unknown"),
}
# Status (Get-ActiveSyncDeviceStatistics)
WIPE_STATUSES = {
    "DeviceOk": _("OK"),
    "DeviceBlocked": _("Blocked"),
    "DeviceWipePending": _("Wipe pending"),
    "DeviceWipeSucceeded": _("Wiped"),
    "DeviceDiscovery": _("Quarantined: discovery"),
    "Unknown": _("Unknown"),
}
# DevicePolicyApplicationStatus
POLICY_STATUSES = {
    "AppliedInFull": _("Applied in full"),
    "PartiallyApplied": _("Partially applied"),
    "NotApplied": _("Not applied"),
    "ExternallyManaged": _("Managed by another MDM"),
    "Unknown": _("Unknown"),
}
# DeviceModel codes whose name a person would not guess (Apple's and Samsung's, as the devices report them).
MODELS = {
    "iPhone9C3": "iPhone 7",
    "iPhone10C6": "iPhone X",
    "iPhone12C1": "iPhone 11",
    "iPhone13C2": "iPhone 12",
    "iPhone14C5": "iPhone 13",
    "iPhone14C7": "iPhone 14",
    "iPhone15C2": "iPhone 14 Pro",
    "iPhone15C4": "iPhone 15",
    "iPhone16C1": "iPhone 15 Pro",
    "iPhone16C2": "iPhone 15 Pro Max",
    "iPhone17C3": "iPhone 16",
    "iPad13C1": "iPad Air (4th generation)",
    "iPad14C1": "iPad mini (6th generation)",
    "SM-G998B": "Samsung Galaxy S21 Ultra",
    "SAMSUNGSMG998B": "Samsung Galaxy S21 Ultra",
    "SM-S918B": "Samsung Galaxy S23 Ultra",
    "SAMSUNGSMS918B": "Samsung Galaxy S23 Ultra",
    "SM-S928B": "Samsung Galaxy S24 Ultra",
    "SAMSUNGSMS928B": "Samsung Galaxy S24 Ultra",
    "RM-1104_1001": "Microsoft Lumia 950",
    "BBB100-2": "BlackBerry KEYone",
}

VOCABULARIES = {
    "access_state": ACCESS_STATES,
    "access_state_reason": ACCESS_REASONS,
    "status": WIPE_STATUSES,
    "policy_application_status": POLICY_STATUSES,
    "device_model": MODELS,
    "device_type": MODELS,
}


def word(kind: str, token: str | None) -> str:
    """The plain words for an Exchange token of ``kind`` (a Device field name), or the token itself."""
    if not token:
        return ""
    return str(VOCABULARIES[kind].get(token, token))


def choices(kind: str, tokens) -> list[tuple[str, str]]:
    """Filter choices: (token, words) for each token."""
    return [(token, word(kind, token)) for token in tokens]


def worded(kind: str, token: str | None):
    """HTML: the words, with Exchange's token in the tooltip (the token alone, made visible, when no words are known)."""
    if not token:
        return ""
    plain = word(kind, token)
    if plain == token:
        return visible(token)
    return format_html('<span title="{}">{}</span>', visible(token), plain)
