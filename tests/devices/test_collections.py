"""Device collections: query rules, direct members, stored membership and its refresh, and their pages."""
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from devices.models import ALL_MOBILE_DEVICES, Collection, CollectionMember, CollectionRule
from devices.rules import RULE_FIELDS, rule_validate
from devices.services import (
    collection_members_add,
    collection_members_remove,
    collection_rule_add,
    collection_rule_delete,
    refresh_memberships,
)
from easconsole.models import AuditEvent
from tests.factories import CollectionFactory, DeviceFactory
from tests.personas import make_persona, make_user

pytestmark = pytest.mark.django_db


def members(collection) -> set[str]:
    return set(CollectionMember.objects.filter(collection=collection).values_list("device__name", flat=True))


@pytest.fixture
def fleet(db):
    now = timezone.now()
    return {
        "anna": DeviceFactory(user="anna", device_type="iPhone", device_os="iOS 17.5.1 21F90", access_state="Allowed",
                              last_success_sync=now - timedelta(hours=1)),
        "ben": DeviceFactory(user="ben", device_type="iPad", device_os="iOS 16.7.8 20H343", access_state="Blocked",
                             last_success_sync=now - timedelta(days=10)),
        "carla": DeviceFactory(user="carla", device_type="Android", device_os="Android 14.0.0", access_state="Quarantined",
                               last_success_sync=now - timedelta(days=60)),
        "dan": DeviceFactory(user="dan", device_type="WP8", device_os="Windows Phone 10.0.15254", last_success_sync=None),
    }


@pytest.fixture
def admin(db):
    return make_persona("full_admin")


@pytest.mark.parametrize(("field", "operator", "value", "expected"), [
    ("device_type", "equals", "IPHONE", {"anna_iPhone"}),  # case does not matter, as in ConfigMgr
    ("device_type", "not_equals", "iphone", {"ben_iPad", "carla_Android", "dan_WP8"}),
    ("device_os", "contains", "16.7", {"ben_iPad"}),
    ("device_os", "starts_with", "ios", {"anna_iPhone", "ben_iPad"}),
    ("last_success_sync", "older_than_days", "7", {"ben_iPad", "carla_Android"}),  # never synced: no date to compare
    ("last_success_sync", "newer_than_days", "30", {"anna_iPhone", "ben_iPad"}),
    ("last_success_sync", "newer_than_days", "0", set()),
])
def test_each_operator(fleet, admin, field, operator, value, expected):
    collection = CollectionFactory(name="By rule")
    collection_rule_add(collection=collection, field=field, operator=operator, value=value, user=admin)
    assert members(collection) == expected


def test_rules_are_anded_and_a_collection_without_rules_has_only_direct_members(fleet, admin):
    collection = CollectionFactory(name="Apple, allowed")
    assert refresh_memberships([collection]) == {collection.pk: 0}
    collection_rule_add(collection=collection, field="device_os", operator="starts_with", value="iOS", user=admin)
    assert members(collection) == {"anna_iPhone", "ben_iPad"}
    rule = collection_rule_add(collection=collection, field="access_state", operator="equals", value="Allowed", user=admin)
    assert members(collection) == {"anna_iPhone"}
    collection_rule_delete(rule=rule, user=admin)
    assert members(collection) == {"anna_iPhone", "ben_iPad"}


def test_refresh_follows_changed_devices_and_returns_counts(fleet, admin):
    collection = CollectionFactory(name="Quarantined")
    collection_rule_add(collection=collection, field="access_state", operator="equals", value="Quarantined", user=admin)
    builtin = Collection.objects.get(name=ALL_MOBILE_DEVICES)
    fleet["carla"].access_state = "Allowed"
    fleet["carla"].save()
    fleet["dan"].access_state = "Quarantined"
    fleet["dan"].save()
    newcomer = DeviceFactory(user="erin", device_type="iPhone", access_state="Quarantined")
    counts = refresh_memberships()
    assert counts == {builtin.pk: 5, collection.pk: 2}
    assert members(collection) == {"dan_WP8", newcomer.name}
    assert members(builtin) == {d.name for d in fleet.values()} | {newcomer.name}
    assert Collection.objects.get(pk=collection.pk).members_refreshed is not None
    newcomer.delete()
    assert refresh_memberships([builtin]) == {builtin.pk: 4}  # only the collections asked for


def test_direct_members_stay_whatever_the_rules_and_leave_only_when_removed(fleet, admin):
    collection = CollectionFactory(name="VIPs")
    collection_rule_add(collection=collection, field="device_type", operator="equals", value="iPhone", user=admin)
    assert collection_members_add(collection=collection, device_ids=[fleet["carla"].pk, fleet["anna"].pk], user=admin) == 2
    assert collection_members_add(collection=collection, device_ids=[fleet["carla"].pk], user=admin) == 0
    refresh_memberships()
    assert members(collection) == {"anna_iPhone", "carla_Android"}
    assert set(CollectionMember.objects.filter(collection=collection, direct=True).values_list("device__name", flat=True)) == {
        "anna_iPhone", "carla_Android"}
    # Removing a direct member that also matches the rules keeps it, as a member by rule.
    assert collection_members_remove(collection=collection, device_ids=[fleet["anna"].pk, fleet["carla"].pk], user=admin) == 2
    assert members(collection) == {"anna_iPhone"}
    assert not CollectionMember.objects.filter(collection=collection, direct=True).exists()


def test_only_devices_the_person_may_read_can_be_added(fleet):
    executives = CollectionFactory(name="Executives")
    CollectionMember.objects.create(collection=executives, device=fleet["anna"], direct=True)
    scoped = make_user("scoped-admin", "Full Administrator", collections=[executives])
    target = CollectionFactory(name="Target")
    assert collection_members_add(collection=target, device_ids=[fleet["anna"].pk, fleet["ben"].pk], user=scoped) == 1
    assert members(target) == {"anna_iPhone"}


def test_the_builtin_collection_has_every_device_and_no_rules_or_direct_members(fleet, admin):
    builtin = Collection.objects.get(name=ALL_MOBILE_DEVICES)
    refresh_memberships()
    assert members(builtin) == {d.name for d in fleet.values()}
    with pytest.raises(ValidationError):
        collection_rule_add(collection=builtin, field="device_type", operator="equals", value="iPhone", user=admin)
    with pytest.raises(ValidationError):
        collection_members_add(collection=builtin, device_ids=[fleet["anna"].pk], user=admin)


@pytest.mark.parametrize(("field", "operator", "value", "problem"), [
    ("password", "equals", "x", "field"),  # not a device field a rule may test
    ("connector__site__name", "equals", "x", "field"),  # no lookups through relations
    ("device_type", "older_than_days", "3", "operator"),  # a day operator on text
    ("last_success_sync", "equals", "2026-01-01", "operator"),  # a text operator on a date
    ("last_success_sync", "older_than_days", "ten", "value"),
    ("last_success_sync", "older_than_days", "-1", "value"),
    ("last_success_sync", "older_than_days", "99999999", "value"),
    ("device_os", "contains", "  ", "value"),
    ("device_os", "matches", "x", "operator"),
])
def test_bad_rules_are_refused_with_the_reason(field, operator, value, problem):
    with pytest.raises(ValidationError) as refused:
        rule_validate(field=field, operator=operator, value=value)
    assert problem in refused.value.message_dict


def test_every_rule_field_is_a_device_field_and_can_be_evaluated(fleet):
    from devices.models import Device
    from devices.rules import DATE_FIELDS, rule_q

    for field in RULE_FIELDS:
        operator, value = ("newer_than_days", "1") if field in DATE_FIELDS else ("contains", "a")
        list(Device.objects.filter(rule_q(field, operator, value)).values_list("pk", flat=True))


def test_refresh_runs_the_same_queries_whatever_the_number_of_devices(db, admin):
    collection = CollectionFactory(name="iPhones")
    CollectionRule.objects.create(collection=collection, field="device_type", operator="equals", value="iPhone")

    def queries_with(devices: int) -> int:
        DeviceFactory.create_batch(devices, device_type="iPhone")
        with CaptureQueriesContext(connection) as captured:
            counts = refresh_memberships()
        assert counts[collection.pk] == CollectionMember.objects.filter(collection=collection).count()
        return len(captured)

    assert queries_with(3) == queries_with(150)


def test_rule_and_member_changes_are_audited(fleet, admin):
    collection = CollectionFactory(name="Audited")
    rule = collection_rule_add(collection=collection, field="device_type", operator="equals", value="iPad", user=admin,
                               address="10.0.0.5")
    collection_members_add(collection=collection, device_ids=[fleet["dan"].pk], user=admin)
    collection_members_remove(collection=collection, device_ids=[fleet["dan"].pk], user=admin)
    collection_rule_delete(rule=rule, user=admin)
    events = list(AuditEvent.objects.filter(object_repr="Audited").order_by("pk"))
    assert [e.message for e in events] == [
        "Added the membership rule: Device type is iPad",
        "Added 1 direct member(s): dan_WP8",
        "Removed 1 direct member(s): dan_WP8",
        "Removed the membership rule: Device type is iPad",
    ]
    assert all(e.username == "full_admin" and e.action == "modify" for e in events)
    assert events[0].address == "10.0.0.5" and events[0].changes == {"rules": ["", "Device type is iPad"]}


# --- pages


def test_adding_a_rule_through_the_page_refreshes_the_members(client, fleet, admin):
    collection = CollectionFactory(name="Old devices")
    client.force_login(admin)
    response = client.post(reverse("devices:collectionrule_add", args=[collection.pk]),
                           {"field": "last_success_sync", "operator": "older_than_days", "value": "30"})
    assert response.status_code == 302 and response["Location"] == collection.get_absolute_url()
    assert members(collection) == {"carla_Android"}
    page = client.get(collection.get_absolute_url())
    assert "Last sync" in page.text and "more than N days ago" in page.text
    assert "carla_Android" in page.text and "Added the rule; the collection now has 1 members." in page.text


def test_a_bad_rule_on_the_page_is_explained_and_nothing_is_saved(client, fleet, admin):
    collection = CollectionFactory(name="Broken")
    client.force_login(admin)
    response = client.post(reverse("devices:collectionrule_add", args=[collection.pk]),
                           {"field": "last_success_sync", "operator": "older_than_days", "value": "a month"})
    assert response.status_code == 200
    assert "Give a whole number of days" in response.text
    response = client.post(reverse("devices:collectionrule_add", args=[collection.pk]),
                           {"field": "is_superuser", "operator": "equals", "value": "1"})
    assert "Select a valid choice" in response.text
    assert not CollectionRule.objects.filter(collection=collection).exists()


def test_removing_a_rule_through_the_page(client, fleet, admin):
    collection = CollectionFactory(name="iPads")
    rule = collection_rule_add(collection=collection, field="device_type", operator="equals", value="iPad", user=admin)
    client.force_login(admin)
    url = reverse("devices:collectionrule_delete", args=[collection.pk, rule.pk])
    assert "Device type is iPad" in client.get(url).text
    assert client.post(url).status_code == 302
    assert members(collection) == set() and not CollectionRule.objects.filter(pk=rule.pk).exists()
    # A rule of another collection is not reachable through this one.
    other = CollectionFactory(name="Other")
    rule = collection_rule_add(collection=other, field="device_type", operator="equals", value="iPad", user=admin)
    assert client.post(reverse("devices:collectionrule_delete", args=[collection.pk, rule.pk])).status_code == 404
    assert CollectionRule.objects.filter(pk=rule.pk).exists()


def test_add_resources_searches_and_adds_direct_members(client, fleet, admin):
    collection = CollectionFactory(name="Hand-picked")
    client.force_login(admin)
    url = reverse("devices:collection_members_add", args=[collection.pk])
    page = client.get(url, {"q": "carl"})
    assert [row.record.name for row in page.context["table"].rows] == ["carla_Android"]
    assert client.post(url, {"select": [fleet["carla"].pk, fleet["dan"].pk]}).status_code == 302
    assert members(collection) == {"carla_Android", "dan_WP8"}
    assert [row.record.name for row in client.get(url, {"q": "carl"}).context["table"].rows] == []  # already a member
    detail = client.get(collection.get_absolute_url())
    assert "Remove selected direct members" in detail.text and "Direct" in detail.text
    client.post(reverse("devices:collection_members_remove", args=[collection.pk]), {"select": [fleet["dan"].pk]})
    assert members(collection) == {"carla_Android"}


def test_collection_page_lists_members_a_page_at_a_time(client, db):
    import factory

    DeviceFactory.create_batch(60, user=factory.Sequence(lambda n: f"member{n:03d}"))
    refresh_memberships()
    builtin = Collection.objects.get(name=ALL_MOBILE_DEVICES)
    client.force_login(make_persona("analyst"))
    first = client.get(builtin.get_absolute_url())
    second = client.get(builtin.get_absolute_url(), {"page": 2})
    assert len(first.context["members"].page.object_list) == 50 and len(second.context["members"].page.object_list) == 10
    assert "60 devices" in first.text
    assert "Every mobile device discovered is a member" in first.text
    assert "Remove selected direct members" not in first.text and 'name="select"' not in first.text  # read-only


def test_the_collection_page_runs_a_fixed_number_of_queries(client, db):
    builtin = Collection.objects.get(name=ALL_MOBILE_DEVICES)
    client.force_login(make_persona("full_admin"))

    def queries_with(devices: int) -> int:
        DeviceFactory.create_batch(devices)
        refresh_memberships()
        with CaptureQueriesContext(connection) as captured:
            assert client.get(builtin.get_absolute_url()).status_code == 200
        return len(captured)

    assert queries_with(5) == queries_with(80)


def test_an_operator_may_read_but_not_change_a_collection(client, fleet):
    collection = CollectionFactory(name="Read only")
    client.force_login(make_persona("operator"))
    page = client.get(collection.get_absolute_url()).text
    assert "Add rule" not in page and "Add Resources" not in page
    assert client.post(reverse("devices:collectionrule_add", args=[collection.pk]),
                       {"field": "device_type", "operator": "equals", "value": "iPad"}).status_code == 403
    assert client.post(reverse("devices:collection_members_add", args=[collection.pk]),
                       {"select": [fleet["anna"].pk]}).status_code == 403
    assert not CollectionMember.objects.filter(collection=collection).exists()


def test_an_administrator_limited_to_other_collections_gets_404(client, fleet):
    mine, theirs = CollectionFactory(name="Mine"), CollectionFactory(name="Theirs")
    client.force_login(make_user("scoped-admin", "Full Administrator", collections=[mine]))
    assert client.get(reverse("devices:collectionrule_add", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("devices:collection_members_add", args=[theirs.pk]), {"select": [fleet["anna"].pk]}).status_code == 404
    assert client.get(reverse("devices:collectionrule_add", args=[mine.pk])).status_code == 200


def test_an_administrator_limited_to_a_collection_cannot_widen_it_with_a_rule():
    from django.core.exceptions import PermissionDenied

    from devices.services import collections as collection_services
    from tests.personas import make_user

    scoped = CollectionFactory(name="Scoped")
    admin = make_user("scoped-admin", "Full Administrator", collections=[scoped])
    with pytest.raises(PermissionDenied, match="only an administrator of all collections"):
        collection_services.collection_rule_add(collection=scoped, field="device_type", operator="contains", value="", user=admin)
    assert not scoped.rules.exists()
