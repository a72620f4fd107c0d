"""Roles from directory groups: assigned on Administration ▸ Security ▸ Administrative Users, read at each
sign-in from the real directory (nested groups count), gone at the next sign-in once the person leaves the group."""
import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from easconsole.models import AuditEvent, RoleAssignment
from easconsole.services import role_by_name
from tests.personas import make_persona
from tests.signin.directory import PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(username):
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.text
    return client, response["Location"]


def assign_to_directory_group(name: str, role: str):
    """A Full Administrator assigns ``role`` to the directory group ``name`` before anyone of it signed in."""
    admin = Client()
    admin.force_login(make_persona("full_admin"))
    response = admin.post(reverse("easconsole:roleassignment_add"), {
        "principal_type": "group", "directory_group": name, "role": role_by_name(role).pk,
        "all_sites": "on", "all_collections": "on"})
    assert response.status_code == 302, response.context["form"].errors
    return RoleAssignment.objects.get(group__name__iexact=name)


def test_a_role_given_to_a_group_reaches_a_member_of_a_nested_group_at_sign_in(ldap_console):
    assignment = assign_to_directory_group("EAS-Operators", "Operations Administrator")
    assert AuditEvent.objects.filter(action="create", object_type="administrative user", username="full_admin").exists()
    client, landing = sign_in("jdoe")  # jdoe is in Helpdesk, which is in EAS-Operators
    assert landing == reverse("devices:dashboard")  # an administrator's landing
    assert client.get(reverse("devices:device_list")).status_code == 200
    account = assignment.group.user_set.get()
    assert account.username == "jdoe@contoso.com"
    assert set(account.groups.values_list("name", flat=True)) == {"EAS-Operators", "Helpdesk"}


def test_leaving_the_group_removes_the_role_at_the_next_sign_in(ldap_console):
    assign_to_directory_group("EAS-Operators", "Operations Administrator")
    sign_in("jdoe")
    ldap_console.remove_member("Helpdesk", "jdoe")
    try:
        client, landing = sign_in("jdoe")
        assert landing == reverse("catalog:my_devices")  # an end user now
        assert client.get(reverse("devices:device_list")).status_code == 403
        assert not Group.objects.get(name="EAS-Operators").user_set.exists()
    finally:
        ldap_console.add_member("Helpdesk", "jdoe")


def test_a_group_role_lands_an_auditor_on_the_dashboard(ldap_console):
    assign_to_directory_group("Auditors", "Read-only Analyst")
    client, landing = sign_in("mmajor@contoso.com")
    assert landing == reverse("devices:dashboard")
    assert client.get(reverse("easconsole:exchangeconnector_add")).status_code == 403


def test_an_existing_group_is_used_whatever_the_case_typed(ldap_console):
    Group.objects.create(name="Auditors")
    assign_to_directory_group("auditors", "Read-only Analyst")
    assert Group.objects.filter(name__iexact="auditors").count() == 1
