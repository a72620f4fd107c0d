"""Roles limited to chosen sites and collections grant their permissions there only."""
import pytest
from django.urls import reverse
from guardian.shortcuts import get_perms

from devices.models import ALL_MOBILE_DEVICES, Collection
from easconsole import services
from easconsole.models import AuditEvent, Role, RoleAssignment
from easconsole.permissions import ADMINISTRATOR, ANALYST, END_USER, has_perm, persona
from tests.factories import CollectionFactory, GroupFactory, SiteFactory, UserFactory
from tests.personas import make_user

pytestmark = pytest.mark.django_db


def test_builtin_roles_hold_the_documented_permissions():
    perms = {role.name: {f"{p.content_type.app_label}.{p.codename}" for p in role.permissions.all()} for role in Role.objects.all()}
    assert perms["Full Administrator"] >= {"easconsole.modify_site", "easconsole.modify_connector_policy", "devices.delete_resource"}
    assert perms["Operations Administrator"] >= {"devices.delete_resource", "devices.modify_resource", "devices.read_collection"}
    assert "easconsole.modify_site" not in perms["Operations Administrator"]
    assert perms["Read-only Analyst"] == {"easconsole.read_site", "devices.read_collection", "easconsole.view_auditevent"}


def test_scoped_operator_acts_only_on_chosen_collections(client):
    executives, engineering = CollectionFactory(name="Executives"), CollectionFactory(name="Engineering")
    operator = make_user("scoped", "Operations Administrator", collections=[executives])
    assert has_perm(operator, "devices.delete_resource", executives)
    assert not has_perm(operator, "devices.delete_resource", engineering)
    assert not has_perm(operator, "devices.delete_resource")
    client.force_login(operator)
    listing = client.get(reverse("devices:collection_list"))
    assert "Executives" in listing.text and "Engineering" not in listing.text and ALL_MOBILE_DEVICES not in listing.text
    assert client.get(reverse("devices:collection_detail", args=[executives.pk])).status_code == 200
    assert client.get(reverse("devices:collection_detail", args=[engineering.pk])).status_code == 404


def test_scoped_full_administrator_modifies_only_chosen_sites(client):
    p01, p02 = SiteFactory(code="P01"), SiteFactory(code="P02")
    admin = make_user("siteadmin", "Full Administrator", sites=[p02])
    client.force_login(admin)
    assert client.get(reverse("easconsole:site_edit", args=[p02.pk])).status_code == 200
    assert client.get(reverse("easconsole:site_detail", args=[p01.pk])).status_code == 404
    assert client.get(reverse("easconsole:site_add")).status_code == 403  # adding a site needs all sites


def test_group_assignment_reaches_its_members_and_ends_with_it():
    group = GroupFactory(name="Helpdesk")
    member = UserFactory(username="helper")
    member.groups.add(group)
    assignment = services.role_assignment_save(
        assignment=RoleAssignment(group=group, role=services.role_by_name("Operations Administrator")), user=None
    )
    member = type(member).objects.get(pk=member.pk)
    assert persona(member) == ADMINISTRATOR
    assert has_perm(member, "devices.delete_resource", Collection.objects.first())
    services.role_assignment_delete(assignment=assignment, user=None)
    member = type(member).objects.get(pk=member.pk)
    assert persona(member) == END_USER


def test_narrowing_an_assignment_removes_the_wider_permissions():
    executives = CollectionFactory(name="Executives")
    user = make_user("narrowed", "Read-only Analyst")
    assignment = RoleAssignment.objects.get(user=user)
    assignment.all_collections = False
    services.role_assignment_save(assignment=assignment, user=None, collections=[executives])
    user = type(user).objects.get(pk=user.pk)
    assert not user.has_perm("devices.read_collection")
    assert get_perms(user, executives) == ["read_collection"]
    assert persona(user) == ANALYST


def test_assignment_form_creates_a_scoped_assignment_and_audits_it(client):
    client.force_login(make_user("boss", "Full Administrator"))
    target = UserFactory(username="newop")
    executives = CollectionFactory(name="Executives")
    response = client.post(
        reverse("easconsole:roleassignment_add"),
        {
            "principal_type": "user",
            "user": target.pk,
            "role": Role.objects.get(name="Operations Administrator").pk,
            "all_sites": "on",
            "collections": [executives.pk],
        },
    )
    assert response.status_code == 302
    assignment = RoleAssignment.objects.get(user=target)
    assert list(assignment.collections.all()) == [executives] and not assignment.all_collections
    event = AuditEvent.objects.filter(action="create", object_type="administrative user", username="boss").get()
    assert event.username == "boss" and event.roles == "Full Administrator"
    assert event.changes["collections"] == ["", "Executives"]


def test_assignment_form_explains_what_is_missing(client):
    client.force_login(make_user("boss", "Full Administrator"))
    response = client.post(
        reverse("easconsole:roleassignment_add"),
        {"principal_type": "group", "role": Role.objects.get(name="Read-only Analyst").pk, "all_sites": "on"},
    )
    assert response.status_code == 200
    assert "Choose the group that gets the role." in response.text
    assert "Choose at least one collection, or tick All collections." in response.text
    assert not RoleAssignment.objects.filter(role__name="Read-only Analyst").exists()


def test_the_same_role_twice_for_one_person_is_refused_with_a_message(client):
    client.force_login(make_user("boss", "Full Administrator"))
    target = make_user("twice", "Read-only Analyst")
    response = client.post(
        reverse("easconsole:roleassignment_add"),
        {"principal_type": "user", "user": target.pk, "role": Role.objects.get(name="Read-only Analyst").pk,
         "all_sites": "on", "all_collections": "on"},
    )
    assert "already assigned" in response.text
    assert RoleAssignment.objects.filter(user=target).count() == 1
