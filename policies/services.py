"""Writes of a connector's mobile device settings and access rules, each audited, and the pure
functions that say what the connector asks of Exchange.

The connector wizard's ``done()`` and the Settings and Access Rules pages call the same functions.
"""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from easconsole import audit
from easconsole.models import ExchangeConnector
from policies import catalog, plan, push
from policies.models import AccessRule, ConnectorPolicy

NOT_CONFIGURED = "Not configured"


def connector_policy(connector: ExchangeConnector) -> ConnectorPolicy:
    """The connector's settings row, or an unsaved one with the defaults if it has none yet."""
    try:
        return connector.policy
    except ConnectorPolicy.DoesNotExist:
        return ConnectorPolicy(connector=connector)


def managed_groups(policy: ConnectorPolicy) -> list[str]:
    """The keys of the groups (``catalog.GROUPS``) the connector manages: those with a configured setting."""
    configured = {key for key, value in (policy.settings or {}).items() if value is not None}
    return [group for group in catalog.GROUPS if any(s.key in configured for s in catalog.group_settings(group))]


def mailbox_policy_parameters(policy: ConnectorPolicy) -> dict[str, object]:
    """The parameters of Set-ActiveSyncMailboxPolicy that the connector's settings ask for.

    For each managed group, every setting of the group: its configured value, or Exchange's
    default for a setting left unset. Groups that no setting configures are absent: Exchange keeps
    managing them. AllowExternalDeviceManagement, outside the groups, is always present.
    Values are what the cmdlet takes: booleans, integers, enum names, lists, "Unlimited",
    TimeSpans as "d.hh:mm:ss" and sizes as "<n>KB".
    """
    configured = policy.settings or {}
    parameters: dict[str, object] = {}
    for group in managed_groups(policy):
        for setting in catalog.group_settings(group):
            value = setting.exchange_value(configured.get(setting.key))
            parameters[setting.key] = value
            for other in setting.also:
                parameters[other] = value
    parameters[catalog.EXTERNAL_MDM.key] = bool(policy.allow_external_mdm)
    return parameters


def _settings_snapshot(policy: ConnectorPolicy) -> dict[str, str]:
    configured = policy.settings or {}
    values = {s.key: _audit_value(configured.get(s.key)) for s in catalog.SETTINGS}
    values[catalog.EXTERNAL_MDM.key] = str(bool(policy.allow_external_mdm))
    return values


def _audit_value(value) -> str:
    if value is None:
        return NOT_CONFIGURED
    if isinstance(value, list):
        return ", ".join(value)
    return str(value)


def _changes(before: dict[str, str], after: dict[str, str]) -> dict[str, list[str]]:
    keys = list(dict.fromkeys([*before, *after]))
    return {k: [before.get(k, ""), after.get(k, "")] for k in keys if before.get(k, "") != after.get(k, "")}


def policy_settings_save(*, connector: ExchangeConnector, user, values: dict, allow_external_mdm: bool,
                         address: str | None = None) -> ConnectorPolicy:
    """Replace the connector's mobile device settings.

    Args:
        values: EAS parameter name -> value in the catalog's unit; None or absent = not configured.
        allow_external_mdm: the "Allow external mobile device management" checkbox.

    Raises:
        ValidationError: a value outside its range, an unknown parameter, password settings
            without a required password.
    """
    with transaction.atomic():
        policy = connector_policy(connector)
        if policy.pk is not None:
            policy = ConnectorPolicy.objects.select_for_update().get(pk=policy.pk)
        before = _settings_snapshot(policy)
        policy.settings = {key: value for key, value in values.items() if value is not None}
        policy.allow_external_mdm = bool(allow_external_mdm)
        policy.full_clean()
        policy.save()
        audit.record(user=user, action="modify", obj=connector, address=address, object_type="mobile device settings",
                     message=_("Managed groups: %(groups)s.") % {
                         "groups": ", ".join(str(catalog.GROUPS[g]) for g in managed_groups(policy)) or _("none")},
                     changes=_changes(before, _settings_snapshot(policy)))
        push.push_request(connector=connector, user=user, address=address, reason=_("Mobile device settings saved"))
    connector.policy = policy
    return policy


def _access_snapshot(policy: ConnectorPolicy, rules) -> dict[str, str]:
    values = {
        "default_access_level": policy.default_access_level,
        "admin_mail_recipients": ", ".join(policy.admin_mail_recipients or []),
        "user_mail_insert": policy.user_mail_insert,
    }
    for rule in rules:
        values[f"rule {rule.identity}"] = rule.access_level
    return values


def access_settings_save(*, connector: ExchangeConnector, user, default_access_level: str, admin_mail_recipients: list[str],
                         user_mail_insert: str, rules: list[dict], address: str | None = None) -> ConnectorPolicy:
    """Set the organization's access settings the connector writes and replace its access rules.

    Args:
        rules: the whole rule set, each {"characteristic", "query_string", "access_level"}. A rule
            whose characteristic and query string are kept keeps its row (only its access level
            may change, as Set-ActiveSyncDeviceAccessRule allows); the others are deleted or created.

    Raises:
        ValidationError: a bad email address, a text over 256 characters, a bad or duplicate rule.
    """
    with transaction.atomic():
        policy = connector_policy(connector)
        if policy.pk is not None:
            policy = ConnectorPolicy.objects.select_for_update().get(pk=policy.pk)
        existing = {(r.characteristic, r.query_string): r for r in connector.access_rules.all()}
        before = _access_snapshot(policy, existing.values())

        policy.default_access_level = default_access_level
        policy.admin_mail_recipients = list(admin_mail_recipients)
        policy.user_mail_insert = user_mail_insert or ""
        policy.full_clean()
        policy.save()

        wanted, seen = [], set()
        for data in rules:
            rule = AccessRule(connector=connector, characteristic=data.get("characteristic", ""),
                              query_string=data.get("query_string", ""), access_level=data.get("access_level", ""))
            rule.full_clean(exclude=["connector"], validate_constraints=False)
            identity = (rule.characteristic, rule.query_string.lower())
            if identity in seen:
                raise ValidationError(_("The rule “%(rule)s” is listed twice.") % {"rule": rule.identity})
            seen.add(identity)
            wanted.append(rule)
        keep = {(r.characteristic, r.query_string) for r in wanted}
        for key, rule in existing.items():
            if key not in keep:
                rule.delete()
        saved = []
        for rule in wanted:
            current = existing.get((rule.characteristic, rule.query_string))
            if current is not None:
                if current.access_level != rule.access_level:
                    current.access_level = rule.access_level
                    current.save(update_fields=["access_level"])
                rule = current
            else:
                rule.save()
            saved.append(rule)

        audit.record(user=user, action="modify", obj=connector, address=address, object_type="access rules",
                     message=_("%(count)s access rules; default access level %(level)s.") % {
                         "count": len(saved), "level": policy.default_access_level},
                     changes=_changes(before, _access_snapshot(policy, saved)))
        push.push_request(connector=connector, user=user, address=address, reason=_("Access rules saved"))
    connector.policy = policy
    return policy


def take_exchange_values(*, connector: ExchangeConnector, user, address: str | None = None) -> int:
    """"Take Exchange's values into the console": each setting the last comparison found different
    becomes what Exchange has (settings, organization settings, owned rules). Returns how many."""
    policy = ConnectorPolicy.objects.filter(connector=connector).first() or ConnectorPolicy(connector=connector)
    drift = list(policy.drift or [])
    if not drift:
        raise ValidationError(_("Exchange has the console's settings: there is nothing to take."))
    values = dict(policy.settings or {})
    access = {"default_access_level": policy.default_access_level,
              "admin_mail_recipients": list(policy.admin_mail_recipients or []), "user_mail_insert": policy.user_mail_insert}
    rules = {r.identity.lower(): {"characteristic": r.characteristic, "query_string": r.query_string,
                                  "access_level": r.access_level} for r in connector.access_rules.all()}
    external_mdm = policy.allow_external_mdm
    for item in drift:
        key, raw = item.get("key"), item.get("raw")
        if item.get("area") == plan.POLICY and key == catalog.EXTERNAL_MDM.key:
            external_mdm = bool(raw)
        elif item.get("area") == plan.POLICY and key in catalog.BY_KEY:
            values[key] = plan.console_value(key, raw)
        elif item.get("area") == plan.ORGANIZATION and key == "DefaultAccessLevel" and raw:
            access["default_access_level"] = raw
        elif item.get("area") == plan.ORGANIZATION and key == "AdminMailRecipients":
            access["admin_mail_recipients"] = list(raw or [])
        elif item.get("area") == plan.ORGANIZATION and key == "UserMailInsert":
            access["user_mail_insert"] = raw or ""
        elif item.get("area") == plan.RULES:
            if raw:
                rules[str(key).lower()] = {k: raw[k] for k in ("characteristic", "query_string", "access_level")}
            else:
                rules.pop(str(key).lower(), None)
    with transaction.atomic():
        policy_settings_save(connector=connector, user=user, address=address, values=values, allow_external_mdm=external_mdm)
        access_settings_save(connector=connector, user=user, address=address, rules=list(rules.values()), **access)
        ConnectorPolicy.objects.filter(connector=connector).update(drift=[])
    connector.policy.drift = []
    return len(drift)


def access_rule_adopt(*, connector: ExchangeConnector, user, identity: str, address: str | None = None) -> AccessRule:
    """Adopt a rule someone made in Exchange: the console keeps it (and may change or remove it) from now on."""
    policy = ConnectorPolicy.objects.filter(connector=connector).first() or ConnectorPolicy(connector=connector)
    found = next((r for r in policy.foreign_rules or [] if r.get("identity", "").lower() == identity.strip().lower()), None)
    if found is None:
        raise ValidationError(_("Exchange has no access rule “%(rule)s” that the console does not manage.") % {"rule": identity})
    with transaction.atomic():
        rule = AccessRule(connector=connector, characteristic=found["characteristic"], query_string=found["query_string"],
                          access_level=found["access_level"])
        rule.full_clean()
        rule.save()
        policy = ConnectorPolicy.objects.select_for_update().get(pk=policy.pk)
        policy.owned_rules = sorted({*policy.owned_rules, rule.identity})
        policy.foreign_rules = [r for r in policy.foreign_rules if r is not found and r.get("identity") != found["identity"]]
        policy.save(update_fields=["owned_rules", "foreign_rules"])
        audit.record(user=user, action="adopt", obj=connector, address=address, object_type="access rules",
                     message=_("Adopted the access rule %(rule)s (%(level)s) made in Exchange.") % {
                         "rule": rule.identity, "level": rule.access_level},
                     changes={f"rule {rule.identity}": ["", rule.access_level]})
    return rule
