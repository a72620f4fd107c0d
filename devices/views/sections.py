"""What the device details show, grouped as Exchange groups it (device, user, access, sync, policy, wipe)."""
from __future__ import annotations

from datetime import datetime

from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from devices.models import Device
from easconsole.timefmt import exact
from easconsole.words import VOCABULARIES, worded

SECTIONS = (
    (_("Device"), ("name", "device_id", "friendly_name", "device_type", "device_model", "device_os", "device_os_language",
                   "device_imei", "device_mobile_operator", "device_telephone_number", "device_user_agent",
                   "device_active_sync_version", "client_type", "client_version")),
    (_("User"), ("user_display_name", "user_principal_name", "user_sam_account_name", "user_primary_smtp_address", "mailbox")),
    (_("Access"), ("access_state", "access_state_reason", "access_control_rule")),
    (_("Sync"), ("last_success_sync", "last_sync_attempt_time", "first_sync_time", "last_ping_heartbeat",
                 "number_of_folders_synced")),
    (_("Policy"), ("policy_applied", "policy_application_status", "last_policy_update_time")),
    (_("Wipe"), ("status", "status_note", "is_remote_wipe_supported", "device_wipe_request_time", "device_wipe_sent_time",
                 "device_wipe_ack_time", "last_device_wipe_requestor", "account_only_device_wipe_request_time",
                 "account_only_device_wipe_sent_time", "account_only_device_wipe_ack_time",
                 "last_account_only_device_wipe_requestor")),
    (_("Exchange"), ("identity", "exchange_guid", "when_created", "when_changed")),
    (_("Inventory"), ("connector", "first_discovered", "last_discovered", "missing_since")),
)


def shown(value, name: str = ""):
    """Dates in the console's one format (to the second, with the zone); Exchange's tokens in words; other values as they are."""
    if isinstance(value, datetime):
        return exact(value, seconds=True)
    if name in VOCABULARIES and value:
        return worded(name, value)
    return value


def device_sections(device: Device) -> list[tuple[str, list[tuple[str, object]]]]:
    """(section title, [(label, value)]) of everything Exchange reported about ``device``."""
    sections = []
    for title, names in SECTIONS:
        rows = []
        for name in names:
            field = Device._meta.get_field(name)
            rows.append((capfirst(field.verbose_name), shown(getattr(device, name), name)))
        sections.append((title, rows))
    return sections
