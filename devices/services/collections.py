"""Writes of device collections: the collection itself, its query rules and direct members, and the
stored membership that permissions are checked against.

Membership (``CollectionMember``) is computed, not typed: the devices matching every rule of the
collection (rules are ANDed), plus its direct members; "All Mobile Devices" holds every device.
It is refreshed after each discovery (the discovery calls ``refresh_memberships``) and whenever a
rule or a direct member changes here.
"""
from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, router, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from devices.models import ALL_MOBILE_DEVICES, Collection, CollectionMember, CollectionRule, Device
from devices.rules import field_label, rule_validate, rules_q
from devices.selectors import devices_for
from easconsole import audit
from easconsole.permissions import has_perm
from easconsole.services import object_delete, object_save

COLLECTION_FIELDS = ["name", "comment"]


def collection_save(*, collection: Collection, user, address: str | None = None) -> Collection:
    if collection.pk and collection.is_builtin:
        raise ValidationError(_("The built-in collection %(name)s cannot be changed.") % {"name": collection.name})
    return object_save(obj=collection, user=user, fields=COLLECTION_FIELDS, address=address)


def collection_delete(*, collection: Collection, user, address: str | None = None) -> None:
    if collection.is_builtin:
        raise ValidationError(_("The built-in collection %(name)s cannot be deleted.") % {"name": collection.name})
    object_delete(obj=collection, user=user, address=address)


def _refuse_builtin(collection: Collection) -> None:
    if collection.is_builtin:
        raise ValidationError(_("The membership of the built-in collection %(name)s is every device; it has no rules or "
                                "direct members.") % {"name": collection.name})


def rule_text(rule: CollectionRule) -> str:
    """A rule as the audit trail and the pages say it: ``Device type is iPhone``."""
    return f"{field_label(rule.field)} {rule.get_operator_display()} {rule.value}"


def collection_rule_add(*, collection: Collection, field: str, operator: str, value: str, user,
                        address: str | None = None) -> CollectionRule:
    """Add a query rule (validated against the allowed device fields) and refresh the membership.

    A rule can match any device, so only someone who may modify every collection adds one: an
    administrator limited to this collection would otherwise widen their own reach to every device.
    """
    _refuse_builtin(collection)
    if user is not None and not has_perm(user, "devices.modify_collection"):
        raise PermissionDenied(_("Query rules can match any device: only an administrator of all collections can add them."))
    value = rule_validate(field=field, operator=operator, value=value)
    with transaction.atomic():
        rule = CollectionRule.objects.create(collection=collection, field=field, operator=operator, value=value)
        audit.record(user=user, action="modify", obj=collection, address=address,
                     message=_("Added the membership rule: %(rule)s") % {"rule": rule_text(rule)},
                     changes={"rules": ["", rule_text(rule)]})
        refresh_memberships([collection])
    return rule


def collection_rule_delete(*, rule: CollectionRule, user, address: str | None = None) -> None:
    collection = rule.collection
    with transaction.atomic():
        audit.record(user=user, action="modify", obj=collection, address=address,
                     message=_("Removed the membership rule: %(rule)s") % {"rule": rule_text(rule)},
                     changes={"rules": [rule_text(rule), ""]})
        rule.delete()
        refresh_memberships([collection])


def collection_members_add(*, collection: Collection, device_ids: Iterable[int], user, address: str | None = None) -> int:
    """Make devices direct members; only devices ``user`` may read can be added. Returns how many were added."""
    _refuse_builtin(collection)
    devices = devices_for(user, "devices.read_collection", Device.objects.filter(pk__in=list(device_ids)))
    with transaction.atomic():
        wanted = dict(devices.values_list("pk", "name"))
        already = set(CollectionMember.objects.filter(collection=collection, device_id__in=wanted, direct=True)
                      .values_list("device_id", flat=True))
        added = [pk for pk in wanted if pk not in already]
        if not added:
            return 0
        CollectionMember.objects.filter(collection=collection, device_id__in=added).update(direct=True)
        existing = set(CollectionMember.objects.filter(collection=collection, device_id__in=added).values_list("device_id", flat=True))
        CollectionMember.objects.bulk_create(
            [CollectionMember(collection=collection, device_id=pk, direct=True) for pk in added if pk not in existing],
            batch_size=500,
        )
        names = sorted(wanted[pk] for pk in added)
        audit.record(user=user, action="modify", obj=collection, address=address,
                     message=_("Added %(count)d direct member(s): %(names)s") % {"count": len(added), "names": ", ".join(names)[:2000]},
                     changes={"direct members": ["", ", ".join(names)[:2000]]})
    return len(added)


def collection_members_remove(*, collection: Collection, device_ids: Iterable[int], user, address: str | None = None) -> int:
    """Remove direct members (a device that matches the rules stays a member by rule). Returns how many."""
    _refuse_builtin(collection)
    with transaction.atomic():
        rows = CollectionMember.objects.filter(collection=collection, direct=True, device_id__in=list(device_ids))
        names = sorted(rows.values_list("device__name", flat=True))
        if not names:
            return 0
        rows.delete()
        audit.record(user=user, action="modify", obj=collection, address=address,
                     message=_("Removed %(count)d direct member(s): %(names)s") % {"count": len(names), "names": ", ".join(names)[:2000]},
                     changes={"direct members": [", ".join(names)[:2000], ""]})
        refresh_memberships([collection])
    return len(names)


def refresh_memberships(collections: Iterable[Collection | int] | None = None) -> dict[int, int]:
    """Recompute the stored membership of ``collections`` (all of them if None).

    Set-based: per collection, one DELETE of the rule members that no longer match and one
    INSERT … SELECT of the devices that newly match, whatever the number of devices. Direct members
    are kept. Each collection is refreshed in its own transaction, so a reader never sees it half done.

    Returns:
        The number of members of each refreshed collection, by collection id.
    """
    now = timezone.now()
    targets = Collection.objects.prefetch_related("rules").order_by("pk")
    if collections is not None:
        targets = targets.filter(pk__in=[c.pk if isinstance(c, Collection) else c for c in collections])
    counts = {}
    for collection in targets:
        with transaction.atomic():
            # Two refreshes of one collection at once (a discovery and a rule change) take turns.
            Collection.objects.select_for_update().filter(pk=collection.pk).exists()
            counts[collection.pk] = _refresh_one(collection, now)
    return counts


def _matching(collection: Collection, now) -> QuerySet | None:
    """The devices that are members by rule (every device for the built-in collection), or None."""
    if collection.is_builtin and collection.name == ALL_MOBILE_DEVICES:
        return Device.objects.all()
    query = rules_q(collection.rules.all(), now)
    return None if query is None else Device.objects.filter(query)


def _refresh_one(collection: Collection, now) -> int:
    members = CollectionMember.objects.filter(collection=collection)
    matching = _matching(collection, now)
    by_rule = members.filter(direct=False)
    if matching is None:
        by_rule.delete()
    else:
        by_rule.exclude(Exists(matching.order_by().filter(pk=OuterRef("device_id")))).delete()
        _insert_members(collection, matching)
    Collection.objects.filter(pk=collection.pk).update(members_refreshed=now)
    collection.members_refreshed = now
    return members.count()


def _insert_members(collection: Collection, matching: QuerySet) -> int:
    """INSERT INTO collectionmember SELECT … (matching devices EXCEPT current members): the database copies the ids itself.

    EXCEPT reads the current members once, before the first row goes in. A NOT EXISTS test per device
    let PostgreSQL, on fresh tables without statistics, scan the collection's members again for
    every device, rows being inserted included: 217 s instead of 4 s for 100,000 devices.
    """
    members = CollectionMember.objects.filter(collection=collection).values(_device=F("device_id"))
    newcomers = matching.order_by().values(_device=F("pk")).difference(members)
    sql, params = newcomers.query.sql_with_params()
    connection = connections[router.db_for_write(CollectionMember)]
    quote = connection.ops.quote_name
    table = quote(CollectionMember._meta.db_table)
    columns = ", ".join(quote(CollectionMember._meta.get_field(name).column) for name in ("collection", "device", "direct"))
    device = quote("_device")
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) SELECT %s, newcomers.{device}, %s FROM ({sql}) AS newcomers",
                       [collection.pk, False, *params])
        return cursor.rowcount
