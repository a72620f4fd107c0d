"""The audit trail is append-only, down to the database."""
import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from easconsole import audit
from easconsole.models import AuditEvent, Site
from tests.personas import make_persona

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("sql", ["UPDATE easconsole_auditevent SET action = 'x'", "DELETE FROM easconsole_auditevent"])
def test_database_refuses_rewriting_history(sql):
    audit.record(user=None, action="sign in")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert AuditEvent.objects.get().action == "sign in"


def test_application_refuses_rewriting_history():
    event = audit.record(user=None, action="sign in")
    event.action = "something else"
    with pytest.raises(ValidationError):
        event.save()
    with pytest.raises(ValidationError):
        event.delete()


def test_site_changes_are_recorded_with_what_changed(client):
    client.force_login(make_persona("full_admin"))
    client.post(reverse("easconsole:site_add"), {"code": "p02", "name": "Branch"})
    site = Site.objects.get(code="P02")
    client.post(reverse("easconsole:site_edit", args=[site.pk]), {"code": "P02", "name": "Branch office"})
    client.post(reverse("easconsole:site_delete", args=[site.pk]))
    events = list(AuditEvent.objects.filter(object_type="site").order_by("pk").values_list("action", "changes"))
    assert events[0] == ("create", {"code": ["", "P02"], "name": ["", "Branch"]})
    assert events[1] == ("modify", {"name": ["Branch", "Branch office"]})
    assert events[2][0] == "delete"
    assert not Site.objects.filter(code="P02").exists()


def test_auditors_can_filter_and_export_the_trail(client):
    admin = make_persona("full_admin")
    audit.record(user=admin, action="create", object_repr="P01 - Primary")
    audit.record(user=admin, action="delete", object_repr="Old collection")
    client.force_login(make_persona("analyst"))
    page = client.get(reverse("easconsole:auditevent_list"), {"action": "delete"})
    assert "Old collection" in page.text and "P01 - Primary" not in page.text
    export = client.get(reverse("easconsole:auditevent_list"), {"action": "delete", "export": "csv"})
    assert export["Content-Type"].startswith("text/csv")
    lines = export.content.decode().strip().splitlines()
    assert lines[0].startswith("Time,User,Roles,Action")
    assert len(lines) == 2 and "Old collection" in lines[1]
