"""The audit trail in plain words: actions as sentences, sign-ins hidden on request, JSON shown as a table."""
import pytest
from django.urls import reverse

from easconsole import audit
from easconsole.auditwords import data_table, sentence
from easconsole.models import AuditEvent
from tests.personas import make_persona

pytestmark = pytest.mark.django_db

LIST = reverse("easconsole:auditevent_list")


def test_actions_read_as_sentences():
    assert sentence("request cancel_wipe", "mobile device", "anna_iPhone") == "Cancelled the wipe of anna_iPhone"
    assert sentence("request wipe", "mobile device", "anna_iPhone", "denied") == "Refused: asked to wipe anna_iPhone"
    assert sentence("modify", "Exchange Server connector", "Contoso") == "Changed Exchange Server connector Contoso"
    assert sentence("something new", "", "x") == "Something new x"  # unknown actions read as recorded


def test_changes_are_a_table_of_before_and_after():
    html = data_table({"delta_interval_minutes": [60, 30], "name": "Contoso"})
    assert '<th scope="row" class="fw-normal text-body-secondary">delta_interval_minutes</th><td>60 → 30</td>' in html
    assert "<td>Contoso</td>" in html
    assert "&lt;b&gt;" in data_table({"name": "<b>"})  # escaped, never markup


def test_the_trail_says_what_happened_and_can_hide_sign_ins(client):
    analyst = make_persona("analyst")
    AuditEvent.objects.create(username="operator", action="sign in")
    AuditEvent.objects.create(username="operator", action="request cancel_wipe", object_type="mobile device",
                              object_repr="anna_iPhone", changes={"state": ["pending", "cancelled"]})
    client.force_login(analyst)
    page = client.get(LIST).content.decode()
    assert '<span title="request cancel_wipe">Cancelled the wipe of anna_iPhone</span>' in page
    assert ">Signed in</span>" in page
    hidden = client.get(LIST, {"hide_sign_ins": "on"}).content.decode()
    assert "Cancelled the wipe of anna_iPhone" in hidden and ">Signed in</span>" not in hidden
    event = AuditEvent.objects.get(action="request cancel_wipe")
    detail = client.get(event.get_absolute_url()).content.decode()
    assert "<td>pending → cancelled</td>" in detail and "Cancelled the wipe of anna_iPhone" in detail


def test_audit_record_is_unchanged_by_the_words():
    audit.record(user=None, action="request allow", object_type="mobile device", object_repr="ben_android")
    assert AuditEvent.objects.get().action == "request allow"
