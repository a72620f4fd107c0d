"""Import User Device Affinity: the file read into a preview (every row in error with its line and reason),
nothing written before the confirmation; the confirmation checks each device again."""
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from devices.affinity import csv_import, services
from devices.affinity.csv_import import FileRefused, parse, preview_file
from devices.models import Collection, CollectionMember, Device, UserDeviceAffinity
from easconsole.models import AuditEvent
from tests.factories import CollectionFactory, DeviceFactory, UserFactory
from tests.personas import make_persona, make_user

pytestmark = pytest.mark.django_db
IMPORTED = UserDeviceAffinity.Source.IMPORTED


def in_collection(device, *collections):
    for collection in (Collection.objects.get(name="All Mobile Devices"), *collections):
        CollectionMember.objects.get_or_create(collection=collection, device=device)
    return device


@pytest.fixture
def org():
    """Two users (one named DOMAIN\\user, one local), an iPhone each, and two devices that share a name."""
    executives = CollectionFactory(name="Executives")
    sales = CollectionFactory(name="Sales")
    jdoe = UserFactory(username="CONTOSO\\jdoe", email="john.doe@contoso.com")
    asmith = UserFactory(username="asmith", email="anna.smith@contoso.com")
    phone = in_collection(DeviceFactory(user="jdoe", device_type="iPhone", device_id="APPLJDOE0001"), executives)
    tablet = in_collection(DeviceFactory(user="asmith", device_type="iPad", device_id="APPLASMITH002"), sales)
    twin_a = in_collection(DeviceFactory(user="bwayne", device_type="Android", device_id="ANDRBW0000A1"), sales)
    twin_b = in_collection(DeviceFactory(user="bwayne", device_type="Android", device_id="ANDRBW0000B2"), sales)
    return {"jdoe": jdoe, "asmith": asmith, "phone": phone, "tablet": tablet, "twins": (twin_a, twin_b),
            "executives": executives, "sales": sales}


def csv_bytes(*lines: str, encoding: str = "utf-8", end: str = "\r\n") -> io.BytesIO:
    return io.BytesIO("".join(line + end for line in lines).encode(encoding))


def preview(*lines: str, actor=None, has_header: bool = False, **kwargs):
    return preview_file(csv_bytes(*lines, **kwargs), actor=actor or make_persona("operator"), has_header=has_header, file_name="links.csv")


def errors_of(result) -> list[tuple[int, str]]:
    return [(error.line, error.reason) for error in result.errors]


# ---- what the preview says -------------------------------------------------------------------------

def test_valid_file_without_header_previews_the_new_links_and_writes_nothing(org):
    result = preview("CONTOSO\\jdoe,jdoe_iPhone", "CONTOSO\\asmith,APPLASMITH002")
    assert [(link.line, link.username, link.device_name) for link in result.new] == [
        (1, "CONTOSO\\jdoe", "jdoe_iPhone"), (2, "asmith", "asmith_iPad")]  # by name; by device ID and the SamAccountName
    assert result.errors == [] and result.existing == [] and result.header is None and result.importable
    assert UserDeviceAffinity.objects.count() == 0


@pytest.mark.parametrize("tick", [True, False], ids=["ticked", "detected"])
def test_header_line_ticked_or_recognised_is_skipped(org, tick):
    result = preview("User,Device", "CONTOSO\\jdoe,jdoe_iPhone", has_header=tick)
    assert result.header == ["User", "Device"] and result.header_detected is not tick
    assert [link.line for link in result.new] == [2] and result.errors == []


@pytest.mark.parametrize("heading", ["Primary user,Device name", "DOMAIN\\username,Device", "user;device"])
def test_other_headings_are_recognised(org, heading):
    result = preview(heading, "CONTOSO\\jdoe,jdoe_iPhone")
    assert result.header is not None and result.errors == [] and len(result.new) == 1


@pytest.mark.parametrize("first", ["CONTOSO\\jdoe,jdoe_iPhone", "username1,user0001_iPhone", "CONTOSO\\user,APPL0001"])
def test_a_first_row_that_is_data_is_not_taken_for_a_header(org, first):
    result = preview(first)
    assert result.header is None and len(result.new) + len(result.errors) == 1


def test_unknown_users_and_devices_are_rows_in_error_with_line_and_reason(org):
    result = preview("CONTOSO\\jdoe,jdoe_iPhone", "CONTOSO\\nobody,jdoe_iPhone", "CONTOSO\\asmith,no_such_phone")
    assert [link.line for link in result.new] == [1]
    [(line2, reason2), (line3, reason3)] = errors_of(result)
    assert line2 == 2 and reason2.startswith("Unknown user") and result.errors[0].text == "CONTOSO\\nobody,jdoe_iPhone"
    assert line3 == 3 and reason3.startswith("Unknown device")


def test_ambiguous_device_name_says_to_use_the_device_id(org):
    result = preview("CONTOSO\\jdoe,bwayne_Android", "CONTOSO\\jdoe,ANDRBW0000B2")
    [(line, reason)] = errors_of(result)
    assert line == 1 and "2 devices are named bwayne_Android" in reason and "device ID" in reason
    assert "ANDRBW0000A1" in reason and "ANDRBW0000B2" in reason
    assert [(link.line, link.device_pk) for link in result.new] == [(2, org["twins"][1].pk)]


def test_duplicate_rows_name_the_first_line(org):
    result = preview("CONTOSO\\jdoe,jdoe_iPhone", "contoso\\JDOE,JDOE_IPHONE", "CONTOSO\\jdoe,APPLJDOE0001")
    assert [link.line for link in result.new] == [1]
    assert errors_of(result) == [(2, "Duplicate of line 1."), (3, "Same user and device as line 1.")]


def test_rows_already_linked_are_listed_as_no_change(org):
    UserDeviceAffinity.objects.create(device=org["phone"], user=org["jdoe"], source="automatic")
    result = preview("CONTOSO\\jdoe,jdoe_iPhone", "Anna.Smith@contoso.com,asmith_iPad")
    assert [(link.line, link.source) for link in result.existing] == [(1, "automatic")]
    assert [link.line for link in result.new] == [2]  # a UPN that is the account's user name or email


def test_malformed_lines_each_say_what_is_wrong(org):
    result = preview("CONTOSO\\jdoe,jdoe_iPhone", "", "jdoe_iPhone", "CONTOSO\\jdoe;jdoe_iPhone", "CONTOSO\\jdoe,jdoe_iPhone,extra",
                     "jdoe,jdoe_iPhone", "CONTOSO\\asmith,", '"CONTOSO\\asmith","asmith_iPad",,')
    reasons = dict(errors_of(result))
    assert reasons[2] == "Blank line."
    assert reasons[3].startswith("Malformed line")
    assert "semicolon" in reasons[4]
    assert reasons[5] == "Too many columns: expected 2 (DOMAIN\\user,device), found 3."
    assert "DOMAIN\\user" in reasons[6]
    assert reasons[7] == "The device is missing."
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7]
    assert [link.line for link in result.new] == [1, 8]  # quoted values and empty trailing columns are fine


def test_user_found_through_exchange_by_upn(org):
    """CONTOSO\\kmiller has no account of that name, but Exchange says her UPN is the account's email."""
    UserFactory(username="karen", email="karen.miller@contoso.com")
    DeviceFactory(user="kmiller", user_principal_name="karen.miller@contoso.com", user_sam_account_name="kmiller")
    result = preview("CONTOSO\\kmiller,jdoe_iPhone")
    assert [link.username for link in result.new] == ["karen"]


def test_ambiguous_user(org):
    UserFactory(username="FABRIKAM\\asmith")
    UserFactory(username="fabrikam\\ASMITH2", email="x@contoso.com")
    UserFactory(username="dup1", email="same@contoso.com")
    UserFactory(username="dup2", email="same@contoso.com")
    result = preview("same@contoso.com,jdoe_iPhone")
    [(line, reason)] = errors_of(result)
    assert line == 1 and reason == "Ambiguous user: it matches the accounts dup1, dup2."


# ---- the file as a whole ----------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "message"), [
    (b"", "The file is empty."),
    (b"\r\n  \r\n", "The file is empty."),
    (b"\xef\xbb\xbf", "The file is empty."),
    (b"User,Device\r\n", "The file has a header line but no rows."),
    ("CONTOSO\\jdoe,jdoe_iPhone\r\nCONTOSO\\müller,jdoe_iPhone\r\n".encode("cp1252"), "Line 2 is not UTF-8 text"),
    ("CONTOSO\\jdoe,jdoe_iPhone\r\n".encode("utf-16"), "The file is in UTF-16"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is not a text file"),
], ids=["empty", "blank-lines", "bom-only", "header-only", "windows-1252", "utf-16", "binary"])
def test_files_that_cannot_be_read_are_refused_with_a_clear_message(org, content, message):
    with pytest.raises(FileRefused, match=message.replace("(", r"\(")):
        preview_file(io.BytesIO(content), actor=make_persona("operator"))
    assert UserDeviceAffinity.objects.count() == 0


def test_utf8_with_byte_order_mark_is_read(org):
    UserFactory(username="CONTOSO\\müller")
    data = "\ufeffUser,Device\r\nCONTOSO\\MÜLLER,jdoe_iPhone\r\n".encode("utf-8")
    result = preview_file(io.BytesIO(data), actor=make_persona("operator"))
    assert result.header == ["User", "Device"] and [link.username for link in result.new] == ["CONTOSO\\müller"]


def test_a_file_over_the_limit_is_refused():
    with pytest.raises(FileRefused, match="larger than 10 MB"):
        parse(io.BytesIO(b"CONTOSO\\a,b\n" * (csv_import.MAX_BYTES // 12 + 1)))


def test_a_10_mb_file_is_read_with_a_bounded_number_of_queries(org, django_assert_max_num_queries):
    """Every line is read and checked; users and devices are looked up in a few queries, not one per row."""
    lines = ["User,Device", "CONTOSO\\jdoe,jdoe_iPhone", "CONTOSO\\asmith,asmith_iPad"]
    size = sum(len(line) + 2 for line in lines)
    n = 0
    while True:
        line = f"CONTOSO\\user{n:06d},user{n:06d}_iPhone" if n % 2 else f"CONTOSO\\jdoe,phone{n:06d}"
        if size + len(line) + 2 > csv_import.MAX_BYTES:
            break
        lines.append(line)
        size += len(line) + 2
        n += 1
    data = csv_bytes(*lines)
    assert csv_import.MAX_BYTES - 100 < len(data.getvalue()) <= csv_import.MAX_BYTES
    operator = make_persona("operator")
    with django_assert_max_num_queries(30):
        result = preview_file(data, actor=operator, file_name="big.csv")
    assert result.lines == len(lines) and result.header == ["User", "Device"]
    assert [link.line for link in result.new] == [2, 3]
    assert len(result.errors) == n
    first = errors_of(result)[:2]
    assert first[0][0] == 4 and first[0][1].startswith("Unknown device")
    assert first[1][0] == 5 and first[1][1].startswith("Unknown user") and "Unknown device" in first[1][1]
    assert UserDeviceAffinity.objects.count() == 0


# ---- the import: all or nothing ----------------------------------------------------------------------

def test_import_adds_the_links_as_imported_and_audits_each(org):
    operator = make_persona("operator")
    result = preview("CONTOSO\\jdoe,jdoe_iPhone", "CONTOSO\\asmith,asmith_iPad", actor=operator)
    done = services.affinity_import(rows=[(link.device_pk, link.user_id, link.line) for link in result.new], actor=operator,
                                    address="10.0.0.7", file_name="links.csv")
    assert (done.added, done.already_linked, done.dropped) == (2, 0, [])
    assert set(UserDeviceAffinity.objects.values_list("device__name", "user__username", "source")) == {
        ("jdoe_iPhone", "CONTOSO\\jdoe", IMPORTED), ("asmith_iPad", "asmith", IMPORTED)}
    events = AuditEvent.objects.filter(username="operator").order_by("pk")
    assert [(e.action, e.object_repr, e.changes.get("user")) for e in events] == [
        ("add primary user", "jdoe_iPhone", "CONTOSO\\jdoe"), ("add primary user", "asmith_iPad", "asmith"),
        ("import user device affinity", "links.csv", None)]
    assert events[0].address == "10.0.0.7" and events[0].roles == "Operations Administrator"


def test_limited_operator_cannot_import_devices_outside_their_collections(org):
    """Only Executives: the Sales tablet is unknown to them in the preview, and dropped by the service, naming the row."""
    limited = make_user("exec-operator", "Operations Administrator", collections=[org["executives"]])
    result = preview("CONTOSO\\jdoe,jdoe_iPhone", "CONTOSO\\asmith,asmith_iPad", actor=limited)
    assert [link.line for link in result.new] == [1]
    assert errors_of(result)[0][0] == 2 and errors_of(result)[0][1].startswith("Unknown device")
    done = services.affinity_import(rows=[(org["phone"].pk, org["jdoe"].pk, 1), (org["tablet"].pk, org["asmith"].pk, 2)], actor=limited)
    assert done.added == 1 and [str(row) for row in done.dropped] == [
        "line 2 (asmith_iPad (APPLASMITH002)): the device is no longer in a collection you can see"]
    assert list(UserDeviceAffinity.objects.values_list("device__name", flat=True)) == ["jdoe_iPhone"]
    record = AuditEvent.objects.get(username="exec-operator", action="import user device affinity")
    assert record.changes["dropped_lines"] == [2] and "asmith_iPad" in record.message


def test_a_device_still_readable_but_no_longer_modifiable_refuses_the_whole_import(org):
    mixed = make_user("mixed", "Read-only Analyst")
    make_user("mixed", "Operations Administrator", collections=[org["executives"]])
    with pytest.raises(services.ImportRefused, match="asmith_iPad \\(APPLASMITH002\\)") as refused:
        services.affinity_import(rows=[(org["phone"].pk, org["jdoe"].pk), (org["tablet"].pk, org["asmith"].pk)], actor=mixed)
    assert "jdoe_iPhone" not in str(refused.value)
    assert UserDeviceAffinity.objects.count() == 0  # not even the permitted one
    denial = AuditEvent.objects.get(username="mixed")
    assert denial.outcome == "denied" and "asmith_iPad" in denial.message


def test_devices_readable_but_not_modifiable_refuse_the_whole_preview(org):
    mixed = make_user("mixed", "Read-only Analyst")
    make_user("mixed", "Operations Administrator", collections=[org["executives"]])
    result = preview("CONTOSO\\jdoe,jdoe_iPhone", "CONTOSO\\asmith,asmith_iPad", actor=mixed)
    assert len(result.new) == 2 and result.refused_devices == ["asmith_iPad (APPLASMITH002)"] and not result.importable


def test_a_failure_while_writing_leaves_nothing(org, monkeypatch):
    operator = make_persona("operator")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services.AuditEvent.objects, "bulk_create", broken)
    with pytest.raises(RuntimeError):
        services.affinity_import(rows=[(org["phone"].pk, org["jdoe"].pk), (org["tablet"].pk, org["asmith"].pk)], actor=operator)
    assert UserDeviceAffinity.objects.count() == 0


def test_devices_deleted_since_the_preview_are_dropped_and_named(org):
    operator = make_persona("operator")
    removed = DeviceFactory(user="temp")
    deleted = in_collection(DeviceFactory(user="old", device_type="iPad", device_id="APPLOLD00001"))
    rows = [(org["phone"].pk, org["jdoe"].pk, 1), (removed.pk, org["asmith"].pk, 2), (deleted.pk, org["asmith"].pk, 3)]
    Device.objects.filter(pk=removed.pk).delete()  # the row is gone
    Device.objects.filter(pk=deleted.pk).update(missing_since=timezone.now())  # what Delete (and discovery) leave
    done = services.affinity_import(rows=rows, actor=operator, file_name="links.csv")
    assert done.added == 1 and [(row.line, row.device) for row in done.dropped] == [(2, ""), (3, "old_iPad (APPLOLD00001)")]
    assert all("deleted since the preview" in row.reason for row in done.dropped)
    assert list(UserDeviceAffinity.objects.values_list("device__name", flat=True)) == ["jdoe_iPhone"]


def test_a_deleted_device_is_named_as_such_in_the_preview(org):
    Device.objects.filter(pk=org["phone"].pk).update(missing_since=timezone.now())
    result = preview("CONTOSO\\jdoe,jdoe_iPhone", "CONTOSO\\jdoe,APPLJDOE0001")
    assert result.new == [] and [reason for _line, reason in errors_of(result)] == [
        "Deleted device: jdoe_iPhone was deleted from the console or is no longer in Exchange."] * 2


def test_a_stray_quote_costs_only_its_own_line(org):
    """An opening quote never closed used to swallow every following line into one value."""
    result = preview("CONTOSO\\jdoe,jdoe_iPhone", '"CONTOSO\\asmith,asmith_iPad', "CONTOSO\\asmith,asmith_iPad",
                     'CONTOSO\\asmith,"asmith_iPad"x', '"CONTOSO\\jdoe","APPLJDOE0001"')
    assert [link.line for link in result.new] == [1, 3]
    assert [line for line, _reason in errors_of(result)] == [2, 4, 5]
    assert errors_of(result)[0][1].startswith("Unbalanced quote") and errors_of(result)[1][1].startswith("Unbalanced quote")
    assert errors_of(result)[2][1] == "Same user and device as line 1."  # quoted values are read as usual
    assert result.errors[0].text == '"CONTOSO\\asmith,asmith_iPad'


# ---- the pages: upload, preview, confirm -------------------------------------------------------------

def upload(client, content: bytes, name: str = "links.csv", **fields):
    return client.post(reverse("devices:affinity_import"), {"file": SimpleUploadedFile(name, content, content_type="text/csv"), **fields})


def test_upload_preview_confirm(org, persona_client):
    client = persona_client("operator")
    response = upload(client, b"User,Device\r\nCONTOSO\\jdoe,jdoe_iPhone\r\nCONTOSO\\ghost,jdoe_iPhone\r\n")
    assert response.status_code == 302 and "?preview=" in response["Location"]
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "1 link to add" in html and "1 row in error" in html and "Unknown user" in html
    assert UserDeviceAffinity.objects.count() == 0  # nothing before the confirmation
    token = page.context["preview"]["token"]
    done = client.post(reverse("devices:affinity_import"), {"token": token, "confirm": "1",
                                                             "links": f"{org['tablet'].pk}"})  # a forged field is ignored
    assert done.status_code == 302
    assert list(UserDeviceAffinity.objects.values_list("device__name", "user__username", "source")) == [
        ("jdoe_iPhone", "CONTOSO\\jdoe", IMPORTED)]
    again = client.post(reverse("devices:affinity_import"), {"token": token, "confirm": "1"})  # a second click imports nothing more
    assert again.status_code == 302 and UserDeviceAffinity.objects.count() == 1


def test_a_wrong_token_imports_nothing(org, persona_client):
    client = persona_client("operator")
    upload(client, b"CONTOSO\\jdoe,jdoe_iPhone\r\n")
    response = client.post(reverse("devices:affinity_import"), {"token": "forged", "confirm": "1"})
    assert response.status_code == 302 and UserDeviceAffinity.objects.count() == 0


def test_discard_imports_nothing(org, persona_client):
    client = persona_client("operator")
    location = upload(client, b"CONTOSO\\jdoe,jdoe_iPhone\r\n")["Location"]
    token = client.get(location).context["preview"]["token"]
    client.post(reverse("devices:affinity_import"), {"token": token, "discard": "1"})
    client.post(reverse("devices:affinity_import"), {"token": token, "confirm": "1"})
    assert UserDeviceAffinity.objects.count() == 0


@pytest.mark.parametrize(("content", "message"), [
    (b"", "The submitted file is empty."),  # Django's own check, before ours
    ("CONTOSO\\jdoe,jdoe_iPhone\r\nCONTOSO\\m\xfcller,x\r\n".encode("latin-1"), "Line 2 is not UTF-8 text"),
    (b"\r\n\r\n", "The file is empty."),
])
def test_an_unreadable_file_stays_on_the_upload_page_with_the_reason(org, persona_client, content, message):
    response = upload(persona_client("operator"), content)
    assert response.status_code == 200 and message in response.content.decode()
    assert UserDeviceAffinity.objects.count() == 0


def test_the_preview_lists_refused_devices_and_offers_no_import(org, client):
    make_user("mixed", "Read-only Analyst")
    mixed = make_user("mixed", "Operations Administrator", collections=[org["executives"]])
    client.force_login(mixed)
    page = client.get(upload(client, b"CONTOSO\\jdoe,jdoe_iPhone\r\nCONTOSO\\asmith,asmith_iPad\r\n")["Location"])
    html = page.content.decode()
    assert "asmith_iPad (APPLASMITH002)" in html and 'name="confirm"' not in html
    client.post(reverse("devices:affinity_import"), {"token": page.context["preview"]["token"], "confirm": "1"})
    assert UserDeviceAffinity.objects.count() == 0
    assert AuditEvent.objects.filter(username="mixed", outcome="denied", action="import user device affinity").exists()


def test_analyst_cannot_import(org, persona_client):
    client = persona_client("analyst")
    assert client.get(reverse("devices:affinity_import")).status_code == 403
    assert upload(client, b"CONTOSO\\jdoe,jdoe_iPhone\r\n").status_code == 403
    assert UserDeviceAffinity.objects.count() == 0


def test_a_large_confirmed_import_is_exactly_the_preview(persona_client, django_assert_max_num_queries):
    """5,000 rows through the pages: the session keeps the links, the import writes them in a few batched queries."""
    from uuid import uuid4

    from devices.models import Device
    from django.contrib.auth import get_user_model

    n = 5000
    get_user_model().objects.bulk_create([get_user_model()(username=f"CONTOSO\\u{i:05d}") for i in range(n)])
    Device.objects.bulk_create([Device(name=f"u{i:05d}_iPhone", device_id=f"DEV{i:08d}", exchange_guid=uuid4(), identity=f"x/{i}",
                                       mailbox=f"u{i:05d}") for i in range(n)])
    client = persona_client("operator")
    content = "".join(f"CONTOSO\\u{i:05d},{'DEV%08d' % i if i % 2 else f'u{i:05d}_iPhone'}\r\n" for i in range(n)).encode()
    page = client.get(upload(client, content)["Location"])
    assert page.context["preview"]["new_count"] == n and page.context["preview"]["error_count"] == 0
    assert len(page.context["preview"]["new"]) == 1000  # listed; all are kept
    with django_assert_max_num_queries(n // 25):  # batches: SQLite's 999 variables make an audit batch 66 rows
        services.affinity_import(rows=client.session["affinity_import"]["links"], actor=get_user_model().objects.get(username="operator"))
    assert UserDeviceAffinity.objects.filter(source=IMPORTED).count() == n
    assert set(UserDeviceAffinity.objects.values_list("device__mailbox", "user__username")) == {
        (f"u{i:05d}", f"CONTOSO\\u{i:05d}") for i in range(n)}
