"""Collection query rules: the device fields a rule may test, and a rule as a database filter.

Only fields named here can appear in a rule (a rule is data typed by an administrator: it must
never reach a lookup it was not meant to). Text comparisons ignore case, as ConfigMgr's WQL
queries do; day operators compare a date field with "now minus N days" at refresh time.
"""
from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from devices.models import CollectionRule, Device

Operator = CollectionRule.Operator

TEXT_OPERATORS = (Operator.EQUALS, Operator.NOT_EQUALS, Operator.CONTAINS, Operator.STARTS_WITH)
DAY_OPERATORS = (Operator.OLDER_THAN_DAYS, Operator.NEWER_THAN_DAYS)
MAX_DAYS = 36_500

# The device fields a rule may test, in the order the rule form offers them.
TEXT_FIELDS = (
    "name", "device_id", "device_type", "device_model", "device_os", "device_os_language", "device_user_agent",
    "device_imei", "device_mobile_operator", "device_telephone_number", "device_active_sync_version", "friendly_name",
    "client_type", "client_version", "mailbox", "user_display_name", "user_principal_name", "user_sam_account_name",
    "user_primary_smtp_address", "access_state", "access_state_reason", "access_control_rule", "policy_applied",
    "policy_application_status", "status",
)
DATE_FIELDS = (
    "last_success_sync", "last_sync_attempt_time", "first_sync_time", "last_policy_update_time", "when_created",
    "when_changed", "first_discovered", "last_discovered", "missing_since", "device_wipe_request_time",
)
RULE_FIELDS = TEXT_FIELDS + DATE_FIELDS


def field_choices() -> list[tuple[str, str]]:
    """(field name, label) of every rule field, for a select."""
    return [(name, Device._meta.get_field(name).verbose_name.capitalize()) for name in RULE_FIELDS]


def field_label(name: str) -> str:
    return str(Device._meta.get_field(name).verbose_name.capitalize()) if name in RULE_FIELDS else name


def rule_validate(*, field: str, operator: str, value: str) -> str:
    """Check a rule and return its value cleaned; raise ValidationError (keyed by form field) if it is wrong."""
    value = (value or "").strip()
    if field not in RULE_FIELDS:
        raise ValidationError({"field": _("Rules can test only the listed device fields.")})
    if operator not in Operator.values:
        raise ValidationError({"operator": _("Choose one of the listed operators.")})
    if field in DATE_FIELDS:
        if operator not in DAY_OPERATORS:
            raise ValidationError({"operator": _("%(field)s is a date: compare it in days (more or less than N days ago).")
                                   % {"field": field_label(field)}})
        if not value.isdigit() or int(value) > MAX_DAYS:
            raise ValidationError({"value": _("Give a whole number of days between 0 and %(max)d.") % {"max": MAX_DAYS}})
        return str(int(value))
    if operator in DAY_OPERATORS:
        raise ValidationError({"operator": _("%(field)s is text: day operators apply to dates only.") % {"field": field_label(field)}})
    if operator in (Operator.CONTAINS, Operator.STARTS_WITH) and not value:
        raise ValidationError({"value": _("Give the text to look for.")})
    return value


def rule_q(field: str, operator: str, value: str, now=None) -> Q:
    """The filter of one rule on Device. The field and operator must have passed ``rule_validate``."""
    if field not in RULE_FIELDS:  # stored rules are validated; this keeps a hand-edited row harmless
        return Q(pk__in=[])
    if operator in DAY_OPERATORS:
        limit = (now or timezone.now()) - timedelta(days=int(value))
        return Q(**{f"{field}__lt": limit}) if operator == Operator.OLDER_THAN_DAYS else Q(**{f"{field}__gte": limit})
    if operator == Operator.EQUALS:
        return Q(**{f"{field}__iexact": value})
    if operator == Operator.NOT_EQUALS:
        return ~Q(**{f"{field}__iexact": value})
    if operator == Operator.CONTAINS:
        return Q(**{f"{field}__icontains": value})
    if operator == Operator.STARTS_WITH:
        return Q(**{f"{field}__istartswith": value})
    return Q(pk__in=[])


def rules_q(rules, now=None) -> Q | None:
    """All rules ANDed, or None when there are none (a collection without rules matches no device by rule)."""
    query = None
    for rule in rules:
        part = rule_q(rule.field, rule.operator, rule.value, now)
        query = part if query is None else query & part
    return query


__all__ = ["DATE_FIELDS", "RULE_FIELDS", "TEXT_FIELDS", "field_choices", "field_label", "rule_q", "rule_validate", "rules_q"]
