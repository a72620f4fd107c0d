"""CSV exports: a cell a spreadsheet would run as a formula is shown, never run (OWASP's rule); numbers stay numbers."""
import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from easconsole.csv_export import csv_safe
from tests.factories import SiteFactory
from tests.personas import make_persona

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://x","y")'


def rows_of(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize(("value", "cell"), [
    (HYPERLINK, "'" + HYPERLINK),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("anna.smith_iPhone", "anna.smith_iPhone"),
    ("a=b", "a=b"),
    ("+41 79 123 45 67", "+41 79 123 45 67"),  # a telephone number
    ("-12.5", "-12.5"),
    (42, 42), (-7, -7), (2.5, 2.5), (Decimal("-1.10"), Decimal("-1.10")),
    (None, ""),
])
def test_a_cell_is_neutralised_only_when_a_spreadsheet_would_run_it(value, cell):
    assert csv_safe(value) == cell


def test_the_audit_trail_shows_a_formula_typed_as_a_user_name_without_running_it(client):
    """A failed sign-in through the real form writes the typed user name into the trail; its export must not run it."""
    response = client.post(reverse("login"), {"username": HYPERLINK, "password": "nope"})
    assert response.status_code == 200
    client.force_login(make_persona("analyst"))
    rows = rows_of(client.get(reverse("easconsole:auditevent_list"), {"export": "csv"}))
    user = rows[0].index("User")
    failed = [row for row in rows[1:] if row[rows[0].index("Action")] == "sign in" and row[rows[0].index("Outcome")] == "Failed"]
    assert [row[user] for row in failed] == ["'" + HYPERLINK]
    assert not any(cell.startswith("=") for row in rows for cell in row)


def test_a_generic_list_export_goes_through_the_same_writer(client):
    SiteFactory(code="P09", name="@SUM(A1:A9)")
    client.force_login(make_persona("analyst"))
    rows = rows_of(client.get(reverse("easconsole:site_list"), {"export": "csv"}))
    assert ["P09", "'@SUM(A1:A9)"] == rows[1][:2]
