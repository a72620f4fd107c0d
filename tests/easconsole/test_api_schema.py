"""The API fuzzed against its own OpenAPI schema (schemathesis, in-process through the WSGI application).

Every operation gets a bounded number of generated requests, signed with a full administrator's token
on a console with devices, collections, a connector, actions, an offboarding, a cleanup run and audit events:
none may answer with a server error, and every answer must be documented (status, content type, body) by the schema.
"""
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from devices.cleanup.models import CleanupCandidate, CleanupRun
from devices.models import DeviceAction, Offboarding, OffboardingDevice
from devices.services import refresh_memberships
from easconsole import audit
from easconsole.models import ExchangeConnector
from easconsole.services.tokens import api_token_create
from tests.factories import CollectionFactory, DeviceFactory, SiteFactory
from tests.personas import make_persona

pytestmark = pytest.mark.django_db
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def token(db):
    admin = make_persona("full_admin")
    connector = ExchangeConnector.objects.create(name="Contoso Exchange", site=SiteFactory(code="P01"))
    devices = [DeviceFactory(user=f"user{n}", connector=connector) for n in range(3)]
    refresh_memberships([CollectionFactory(name="Executives")])
    action = DeviceAction.objects.create(device=devices[0], device_name=devices[0].name, device_identity=devices[0].identity,
                                         kind="block", requested_by_name="admin")
    offboarding = Offboarding.objects.create(connector=connector, mailbox="user0", requested_by_name="admin")
    OffboardingDevice.objects.create(offboarding=offboarding, device=devices[0], snapshot={"name": devices[0].name}, wipe=action)
    run = CleanupRun.objects.create(connector=connector, days_not_synced=90, not_synced_since="2026-01-01T00:00:00Z",
                                    previewed_by_name="admin")
    CleanupCandidate.objects.create(run=run, device=devices[1], device_name=devices[1].name, device_identity=devices[1].identity,
                                    exchange_device_id=devices[1].device_id)
    audit.record(user=admin, action="sign in")
    return api_token_create(user=admin, name="schemathesis", days=7)[1]


@pytest.fixture
def wsgi_app():
    """The WSGI application, keeping the test's database connection open between requests (as Django's test client does)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schema.app
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# The schema that /api/schema/ serves (tests/easconsole/test_api.py checks that it is this one), generated in-process.
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = get_wsgi_application()


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_answer_matches_the_schema(case, token, wsgi_app):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
