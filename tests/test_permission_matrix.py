"""Every URL, every persona: who gets what. Add a line here for each new view."""
import pytest
from django.urls import reverse

from devices.models import ALL_MOBILE_DEVICES, Collection, CollectionRule, DeviceAction, Offboarding, OffboardingDevice
from easconsole import audit
from easconsole.services.tokens import api_token_create
from easconsole.models import AuditEvent, ExchangeConnector, Role, RoleAssignment, StatusMessage
from tests.factories import CollectionFactory, SiteFactory
from tests.permission_matrix import (
    FORBIDDEN,
    LOGIN,
    NOT_ALLOWED,
    NOT_FOUND,
    OK,
    REDIRECT,
    UNAUTHORIZED,
    Expect,
    api_read,
    console_read,
    everyone,
    full_admin_only,
    missing_declarations,
)
from tests.personas import PERSONAS, make_persona, make_user


def pk(key):
    return lambda objects: {"pk": objects[key].pk}


# Refusals on POST: the same as on GET for those refused; the allowed persona's outcome is checked
# by the views' own tests.
ADMIN_WRITE = {"anonymous": LOGIN, "end_user": FORBIDDEN, "analyst": FORBIDDEN, "operator": FORBIDDEN, "full_admin": OK}

MATRIX = {
    "home": Expect(everyone(REDIRECT, anonymous=REDIRECT)),
    "login": Expect(everyone(OK, **{p: REDIRECT for p in PERSONAS if p != "anonymous"})),
    "logout": Expect(everyone(NOT_ALLOWED)),
    # Entra ID sign-in: not configured here, so absent for everyone (tests/signin/test_oidc.py signs in through it).
    "oidc_authentication_init": Expect(everyone(NOT_FOUND)),
    "oidc_authentication_callback": Expect(everyone(NOT_FOUND)),
    "easconsole:site_list": Expect(console_read()),
    "easconsole:site_detail": Expect(console_read(), pk("site")),
    "easconsole:site_add": Expect(full_admin_only(), post=ADMIN_WRITE),
    "easconsole:site_edit": Expect(full_admin_only(), pk("site"), post=ADMIN_WRITE),
    "easconsole:site_delete": Expect(full_admin_only(), pk("site"), post=ADMIN_WRITE),
    "easconsole:roleassignment_list": Expect(full_admin_only()),
    "easconsole:roleassignment_detail": Expect(full_admin_only(), pk("assignment")),
    "easconsole:roleassignment_add": Expect(full_admin_only(), post=ADMIN_WRITE),
    "easconsole:roleassignment_edit": Expect(full_admin_only(), pk("assignment"), post=ADMIN_WRITE),
    "easconsole:roleassignment_delete": Expect(full_admin_only(), pk("assignment"), post=ADMIN_WRITE),
    "easconsole:consoleaccount_list": Expect(full_admin_only()),
    "easconsole:consoleaccount_detail": Expect(full_admin_only(), pk("account")),
    "easconsole:consoleaccount_add": Expect(full_admin_only(), post=ADMIN_WRITE),
    "easconsole:consoleaccount_edit": Expect(full_admin_only(), pk("account"), post=ADMIN_WRITE),
    "easconsole:consoleaccount_password": Expect(full_admin_only(), pk("account"), post=ADMIN_WRITE),
    "easconsole:role_list": Expect(full_admin_only()),
    "easconsole:role_detail": Expect(full_admin_only(), pk("role")),
    "easconsole:task_list": Expect(console_read()),
    "easconsole:report_index": Expect(console_read()),
    "easconsole:auditevent_list": Expect(console_read()),
    "easconsole:auditevent_detail": Expect(console_read(), pk("event")),
    "devices:collection_list": Expect(console_read()),
    "devices:collection_detail": Expect(console_read(), pk("collection")),
    "devices:collection_add": Expect(full_admin_only(), post=ADMIN_WRITE),
    "devices:collection_edit": Expect(full_admin_only(), pk("collection"), post=ADMIN_WRITE),
    "devices:collection_delete": Expect(full_admin_only(), pk("collection"), post=ADMIN_WRITE),
    "catalog:my_devices": Expect(everyone(OK, anonymous=LOGIN)),
    "easconsole:exchangeconnector_list": Expect(console_read()),
    "easconsole:exchangeconnector_add": Expect(full_admin_only(), post=ADMIN_WRITE),
    "easconsole:exchangeconnector_detail": Expect(console_read(), pk("connector")),
    "easconsole:exchangeconnector_progress": Expect(console_read(), pk("connector")),
    "easconsole:exchangeconnector_edit": Expect(full_admin_only(analyst=FORBIDDEN, operator=FORBIDDEN), pk("connector"), post=ADMIN_WRITE),
    "easconsole:exchangeconnector_install": Expect(full_admin_only(), pk("connector"), post=ADMIN_WRITE),
    # Check connection now: POST only (the ribbon's button); the check itself is tested in tests/easconsole/test_connection_check.py.
    "easconsole:exchangeconnector_check": Expect(console_read(analyst=NOT_ALLOWED, operator=NOT_ALLOWED, full_admin=NOT_ALLOWED),
                                                 post=ADMIN_WRITE),
    "easconsole:exchangeconnector_delete": Expect(full_admin_only(), pk("connector"), post=ADMIN_WRITE),
    "easconsole:componentstatus_list": Expect(console_read()),
    "easconsole:statusmessage_list": Expect(console_read()),
    "easconsole:statusmessage_detail": Expect(console_read(), pk("status_message")),
    "easconsole:log_viewer": Expect(console_read()),
}

# --- policies: a connector's Settings and Access Rules tabs. Readers of the site see them read-only;
# only ModifyConnectorPolicy on the site saves (the saving itself is tested in tests/policies/).
MATRIX.update({
    "policies:connector_settings": Expect(console_read(), pk("connector"), post=ADMIN_WRITE),
    "policies:connector_access_rules": Expect(console_read(), pk("connector"), post=ADMIN_WRITE),
    # The what-if list of a proposed access change: read-only. The buttons (push again, take Exchange's
    # values, adopt a rule) are POST only and need ModifyConnectorPolicy on the site.
    "policies:connector_access_preview": Expect(console_read(), pk("connector")),
    "policies:connector_push": Expect(everyone(NOT_ALLOWED, anonymous=LOGIN, end_user=FORBIDDEN), pk("connector"),
                                      post={**ADMIN_WRITE, "full_admin": REDIRECT}),
    "policies:connector_take_exchange": Expect(everyone(NOT_ALLOWED, anonymous=LOGIN, end_user=FORBIDDEN), pk("connector"),
                                               post={**ADMIN_WRITE, "full_admin": REDIRECT}),
    "policies:connector_adopt_rule": Expect(everyone(NOT_ALLOWED, anonymous=LOGIN, end_user=FORBIDDEN), pk("connector"),
                                            post={**ADMIN_WRITE, "full_admin": REDIRECT}),
})
# --- end policies

# --- devices pages (issue 5): the device list and details, the column chooser, collection rules and
# direct members. Devices are read through collections: "device" is in "Executives", so every persona
# reading all collections sees it; an operator limited to another collection gets 404 (tests/devices/).
# Rules and direct members need Modify on the collection (Full Administrator); the built-in
# collection has none ("collection" is a user-defined one).
COLLECTION_WRITE_REDIRECT = {**ADMIN_WRITE, "full_admin": REDIRECT}
MATRIX.update({
    "devices:device_list": Expect(console_read()),
    "devices:device_detail": Expect(console_read(), pk("device")),
    "devices:device_columns": Expect(console_read(analyst=REDIRECT, operator=REDIRECT, full_admin=REDIRECT),
                                     post={**console_read(analyst=REDIRECT, operator=REDIRECT, full_admin=REDIRECT)}),
    "devices:collectionrule_add": Expect(full_admin_only(), pk("collection"), post=ADMIN_WRITE),
    "devices:collectionrule_delete": Expect(full_admin_only(), lambda objects: {"pk": objects["collection"].pk,
                                                                              "rule_pk": objects["rule"].pk}, post=ADMIN_WRITE),
    "devices:collection_members_add": Expect(full_admin_only(), pk("collection"), post=ADMIN_WRITE),
    "devices:collection_members_remove": Expect(full_admin_only(full_admin=REDIRECT), pk("collection"),
                                                post=COLLECTION_WRITE_REDIRECT),
})
# --- end devices pages

# --- device actions: the confirmation needs the action's permission on the device (Delete resource for
# a wipe: operators and full administrators); refusals are audited (outcome "denied").
OPERATOR_WRITE = {**ADMIN_WRITE, "operator": OK}
MATRIX.update({
    "devices:device_action": Expect(full_admin_only(operator=OK), lambda objects: {"pk": objects["device"].pk, "kind": "wipe"},
                                    post=OPERATOR_WRITE),
    "devices:device_bulk_action": Expect(console_read(analyst=NOT_ALLOWED, operator=NOT_ALLOWED, full_admin=NOT_ALLOWED),
                                         lambda objects: {"kind": "block"}, post={**OPERATOR_WRITE, "analyst": OK}),
    "devices:deviceaction_list": Expect(console_read()),
    "devices:deviceaction_detail": Expect(console_read(), pk("action")),
    "devices:wipe_report": Expect(console_read()),
})
# --- end device actions

# --- offboarding: starting one needs Delete resource (a wipe's permission) on every device of the mailbox;
# analysts read the outcomes (the evidence) of the devices they may read.
MATRIX.update({
    "devices:offboarding_list": Expect(console_read()),
    "devices:offboarding_add": Expect(full_admin_only(operator=OK), post=OPERATOR_WRITE),
    "devices:offboarding_detail": Expect(console_read(), pk("offboarding")),
})
# --- end offboarding

# --- catalog: a device that is not the person's own answers 404 to everyone, administrators too
# (the catalog shows only affine devices); refusals are audited.
MATRIX.update({
    "catalog:device_status": Expect(everyone(NOT_FOUND, anonymous=LOGIN), pk("device")),
    "catalog:device_wipe": Expect(everyone(NOT_FOUND, anonymous=LOGIN), pk("device"), post=everyone(NOT_FOUND, anonymous=LOGIN)),
    "catalog:device_cancel_wipe": Expect(everyone(NOT_ALLOWED, anonymous=LOGIN), pk("device"),
                                         post=everyone(NOT_FOUND, anonymous=LOGIN)),
})
# --- end catalog

# --- discovery (devices/discovery/): Monitoring ▸ Discovery for readers of the connector's site; running a
# discovery needs Modify on the site (Full Administrator). The confirmation page POSTs; the request
# itself is tested in tests/devices/test_discovery_views.py. The run is made when its URL is built.
def discovery_run(objects):
    from devices.models import DiscoveryRun

    return {"pk": DiscoveryRun.objects.get_or_create(connector=objects["connector"], kind="full")[0].pk}


MATRIX.update({
    "devices:discoveryrun_list": Expect(console_read()),
    "devices:discoveryrun_detail": Expect(console_read(), discovery_run),
    "devices:connector_discover": Expect(full_admin_only(), lambda objects: {"pk": objects["connector"].pk, "kind": "full"},
                                         post={**ADMIN_WRITE, "full_admin": REDIRECT}),
})
# --- end discovery

# --- user device affinity (devices/affinity/): Edit Primary Users is read-only for the readers of the device;
# changing it (POST) needs Modify resource on the device (an empty POST changes nothing and goes back to the
# page). Import User Device Affinity needs Modify resource on some collection; an empty POST shows the form
# again. Adding, removing and importing are tested in tests/devices/test_affinity*.py.
MATRIX.update({
    "devices:device_affinity": Expect(console_read(), pk("device"),
                                      post={**ADMIN_WRITE, "operator": REDIRECT, "full_admin": REDIRECT}),
    "devices:affinity_import": Expect(full_admin_only(operator=OK), post={**ADMIN_WRITE, "operator": OK}),
})
# --- end user device affinity

# --- device reports (devices/reports/): every console reader; each report narrows the devices to those the
# user may read (tested in tests/devices/test_reports.py).
MATRIX.update({
    "devices:report_inventory": Expect(console_read()),
    "devices:dashboard": Expect(console_read()),
    "devices:search": Expect(console_read()),
    "devices:report_inactive": Expect(console_read()),
    "devices:report_compliance": Expect(console_read()),
    "devices:report_settings": Expect(console_read()),
})
# --- end device reports

# --- stale-device cleanup (devices/cleanup/): the rule and its preview need Delete resource on every device
# (Full and Operations Administrators); approving needs Modify on the connector's site besides (Full
# Administrator); a run and the report are for every reader. Previewing and approving: tests/devices/test_cleanup.py.
def cleanup_run(objects):
    from devices.cleanup.models import CleanupRun

    run, _created = CleanupRun.objects.get_or_create(connector=objects["connector"], defaults={
        "days_not_synced": 90, "not_synced_since": "2026-01-01T00:00:00Z", "previewed_by_name": "someone-else"})
    return {"pk": run.pk}


POST_ONLY = console_read(analyst=NOT_ALLOWED, operator=NOT_ALLOWED, full_admin=NOT_ALLOWED)
MATRIX.update({
    "devices:cleanup_rule": Expect(full_admin_only(operator=OK), pk("connector"),
                                   post={**ADMIN_WRITE, "operator": 400, "full_admin": 400}),
    "devices:cleanup_preview": Expect(POST_ONLY, pk("connector"), post={**ADMIN_WRITE, "operator": REDIRECT, "full_admin": REDIRECT}),
    "devices:cleanuprun_detail": Expect(console_read(), cleanup_run),
    "devices:cleanuprun_approve": Expect(POST_ONLY, cleanup_run, post={**ADMIN_WRITE, "full_admin": REDIRECT}),
    "devices:report_removed_stale": Expect(console_read()),
})
# --- end stale-device cleanup

# --- health and metrics (easconsole/health.py): no sign-in, the same answer for everyone. No worker runs in
# this test, so /healthz says 503; /metrics is off by default (EASCONSOLE_METRICS). Both: tests/easconsole/test_health.py.
MATRIX.update({
    "healthz": Expect(everyone(503)),
    "metrics": Expect(everyone(NOT_FOUND)),
})
# --- end health and metrics


# --- the REST API (docs/api.md): the console's permissions, answered as the API answers (401 without
# credentials, 403 refused, 404 outside one's collections and sites). The actions' POSTs are refused before
# the body is read, and audited; the allowed personas' requests are tested in tests/devices/test_api.py.
# The profile page (API tokens) is every console user's own; a token of someone else is 404 to everyone.
def api_action(permitted: tuple[str, ...]) -> Expect:
    return Expect(api_read(analyst=NOT_ALLOWED, operator=NOT_ALLOWED, full_admin=NOT_ALLOWED),
                  lambda objects: {"pk": objects["device"].pk},
                  post={**api_read(analyst=FORBIDDEN, operator=FORBIDDEN, full_admin=FORBIDDEN), **dict.fromkeys(permitted, OK)})


DELETE_RESOURCE, MODIFY_RESOURCE = ("operator", "full_admin"), ("operator", "full_admin")
MATRIX.update({
    "api:api-root": Expect(everyone(OK, anonymous=UNAUTHORIZED)),
    "api:schema": Expect(everyone(OK, anonymous=UNAUTHORIZED)),
    "api:docs": Expect(console_read()),  # a console page: Swagger UI of the schema (tests/browser/test_api_docs.py)
    "api:device-list": Expect(api_read()),
    "api:device-detail": Expect(api_read(), pk("device")),
    "api:device-wipe": api_action(DELETE_RESOURCE),
    "api:device-account-wipe": api_action(DELETE_RESOURCE),
    "api:device-delete": api_action(DELETE_RESOURCE),
    "api:device-cancel-wipe": api_action(MODIFY_RESOURCE),
    "api:device-allow": api_action(MODIFY_RESOURCE),
    "api:device-block": api_action(MODIFY_RESOURCE),
    "api:deviceaction-list": Expect(api_read()),
    "api:deviceaction-detail": Expect(api_read(), pk("action")),
    "api:collection-list": Expect(api_read()),
    "api:collection-detail": Expect(api_read(), pk("collection")),
    "api:connector-list": Expect(api_read()),
    "api:connector-detail": Expect(api_read(), pk("connector")),
    "api:discoveryrun-list": Expect(api_read(), post={**api_read(analyst=FORBIDDEN, operator=FORBIDDEN)}),
    "api:discoveryrun-detail": Expect(api_read(), discovery_run),
    "api:auditevent-list": Expect(api_read()),
    "api:auditevent-detail": Expect(api_read(), pk("event")),
    "api:report-inventory": Expect(api_read()),
    "api:report-inactive": Expect(api_read()),
    "api:report-compliance": Expect(api_read()),
    # Starting an offboarding: Delete resource on every device of the mailbox (tests/devices/test_api_offboarding.py).
    "api:offboarding-list": Expect(api_read(), post={**api_read(analyst=FORBIDDEN), **dict.fromkeys(DELETE_RESOURCE, OK)}),
    "api:offboarding-detail": Expect(api_read(), pk("offboarding")),
    "api:cleanuprun-list": Expect(api_read()),
    "api:cleanuprun-detail": Expect(api_read(), cleanup_run),
    "easconsole:profile": Expect(console_read(), post=console_read()),
    "easconsole:apitoken_revoke": Expect(console_read(analyst=NOT_ALLOWED, operator=NOT_ALLOWED, full_admin=NOT_ALLOWED), pk("token"),
                                         post=console_read(analyst=NOT_FOUND, operator=NOT_FOUND, full_admin=NOT_FOUND)),
})
# --- end REST API


@pytest.fixture
def objects(db):
    other = make_user("someone-else", "Read-only Analyst")
    site = SiteFactory(code="P01")
    return {
        "site": site,
        "connector": ExchangeConnector.objects.create(name="Contoso Exchange", site=site),  # policies
        "collection": CollectionFactory(name="Executives"),
        "assignment": RoleAssignment.objects.get(user=other),
        "account": other,  # local accounts
        "role": Role.objects.get(name="Operations Administrator"),
        "event": audit.record(user=other, action="sign in"),
        "status_message": StatusMessage.objects.create(site=site, message_id=1015, description="Installed."),
        "token": api_token_create(user=other, name="Someone else's script", days=30)[0],  # REST API
        **devices_objects(),  # devices pages
    }


def devices_objects():
    """The device pages' objects: a device in "Executives" (by a rule), and that rule."""
    from devices.services import refresh_memberships
    from tests.factories import DeviceFactory

    executives = Collection.objects.get(name="Executives")
    device = DeviceFactory(user="ceo", device_type="iPhone")
    rule = CollectionRule.objects.create(collection=executives, field="mailbox", operator="equals", value="ceo")
    refresh_memberships([executives])
    action = DeviceAction.objects.create(device=device, device_name=device.name, device_identity=device.identity,
                                         kind="block", requested_by_name="someone-else")  # device actions
    offboarding = Offboarding.objects.create(mailbox=device.mailbox, requested_by_name="someone-else")
    OffboardingDevice.objects.create(offboarding=offboarding, device=device, snapshot={"name": device.name})
    return {"device": device, "rule": rule, "action": action, "offboarding": offboarding}


def test_every_url_is_declared_for_every_persona():
    assert missing_declarations(MATRIX) == []


def test_an_undeclared_url_is_reported(monkeypatch):
    partial = dict(MATRIX)
    del partial["easconsole:site_add"]
    partial["catalog:my_devices"] = Expect({"anonymous": LOGIN})
    problems = missing_declarations(partial)
    assert "easconsole:site_add: no expectation declared" in problems
    assert "catalog:my_devices: no expectation for end_user" in problems


def check(response, expected, url):
    if expected == LOGIN:
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url
    else:
        assert response.status_code == expected, f"{url}: got {response.status_code}, expected {expected}"


CASES = [(name, persona) for name in MATRIX for persona in PERSONAS]


@pytest.mark.parametrize(("name", "persona"), CASES, ids=[f"{n}-{p}" for n, p in CASES])
def test_get(client, objects, name, persona):
    expect = MATRIX[name]
    user = make_persona(persona)
    if user:
        client.force_login(user)
    url = reverse(name, kwargs=expect.kwargs(objects))
    check(client.get(url), expect.get[persona], url)


POST_CASES = [(name, persona) for name, e in MATRIX.items() if e.post for persona in PERSONAS if e.post[persona] != OK]


@pytest.mark.parametrize(("name", "persona"), POST_CASES, ids=[f"{n}-{p}" for n, p in POST_CASES])
def test_refused_post_changes_nothing(client, objects, name, persona):
    expect = MATRIX[name]
    user = make_persona(persona)
    if user:
        client.force_login(user)
    url = reverse(name, kwargs=expect.kwargs(objects))
    counts = [model.objects.count() for model in (RoleAssignment, Collection, ExchangeConnector)]
    changes = AuditEvent.objects.exclude(action__in=["sign in", "sign out"]).exclude(outcome="denied")  # refusals are recorded
    changes_before = changes.count()
    check(client.post(url, {"name": "Changed", "code": "ZZZ"}), expect.post[persona], url)
    assert [model.objects.count() for model in (RoleAssignment, Collection, ExchangeConnector)] == counts
    assert objects["site"].__class__.objects.filter(code="ZZZ").count() == 0
    assert changes.count() == changes_before


def test_builtin_collection_exists(db):
    assert Collection.objects.get(name=ALL_MOBILE_DEVICES).is_builtin
