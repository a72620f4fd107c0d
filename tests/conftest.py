"""Fixtures shared by the whole suite."""
import importlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import factory.random
import pytest
from django.core.cache import cache
from django.db import connection

from easconsole import append_only, credentials
from easconsole.exchange import kerberos
from easconsole.exchange.simulator import kdc as kdc_runner
from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNTS, ControlClient
from tests.personas import make_persona

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _same_fake_data_every_run(request):
    """The factories' names and dates are the same on every run of a test, so a failure repeats."""
    factory.random.reseed_random(request.node.nodeid)


@pytest.fixture(autouse=True)
def _isolated_settings(settings, tmp_path):
    """Fast password hashing, logs and keys in the test's own folder (not in var/), an empty cache."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.VAR_DIR = tmp_path
    # A first discovery reads with reader processes; the suite's organizations are small and many, so they are
    # read on one session (tests/devices/test_discovery_parallel.py reads with the default, 3).
    settings.EASCONSOLE_DISCOVERY_READERS = 1
    credentials.reload_keys()
    cache.clear()  # what a page keeps a minute (the device types of the filter) is each test's own
    yield
    credentials.reload_keys()


@pytest.fixture(scope="session", autouse=True)
def _flush_keeps_audit_triggers():
    """Let transactional tests flush SQLite between tests, and put the append-only triggers back.

    SQLite flushes with DELETE, which the audit trail's triggers refuse (PostgreSQL's TRUNCATE does
    not fire them). Only the test database's flush is affected.
    """
    from django.db.backends.sqlite3.base import DatabaseWrapper

    SQLiteOperations = DatabaseWrapper.ops_class
    original = SQLiteOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = original(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        if append_only.TABLE not in tables:
            return statements
        return [*append_only.SQLITE_DROP, *statements, *append_only.SQLITE_CREATE]

    SQLiteOperations.sql_flush = sql_flush
    yield
    SQLiteOperations.sql_flush = original


def restore_builtin_data() -> None:
    """Put back what the data migrations seed (roles, All Mobile Devices) after a flush emptied it.

    Transactional tests (live server, real worker) end with a flush of every table; the next one
    needs the built-ins that migrations created.
    """
    from django.apps import apps
    from django.contrib.contenttypes.models import ContentType
    from guardian.shortcuts import clear_ct_cache

    from easconsole.models import Role

    # A flush recreated the content types under new ids: forget the old ones.
    ContentType.objects.clear_cache()
    clear_ct_cache()
    if not Role.objects.exists():
        for module in ("devices.migrations.0002_all_mobile_devices", "easconsole.migrations.0002_builtin_roles"):
            migration = importlib.import_module(module)
            migration.create(apps, None)


@pytest.fixture
def console_server(live_server, transactional_db):
    """A live server of the console, with the built-in roles and collections in its database."""
    restore_builtin_data()
    return live_server


@pytest.fixture
def start_qcluster(console_server, settings):
    """``start_qcluster(**env)`` starts a real django-q2 worker (``manage.py qcluster``) on the test
    database and returns its process; every worker started is stopped after the test."""
    database = connection.settings_dict
    if database["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{database['NAME']}"
    else:
        url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    base = {**os.environ, "DATABASE_URL": url, "EASCONSOLE_VAR_DIR": str(settings.VAR_DIR), "Q_WORKERS": "1",
            "SECRET_KEY": settings.SECRET_KEY, "EASCONSOLE_DISCOVERY_READERS": str(settings.EASCONSOLE_DISCOVERY_READERS)}
    base.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    workers, log = [], open(Path(settings.VAR_DIR) / "qcluster.log", "ab")

    def start(**env):
        worker = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env={**base, **env},
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=3)  # django-q2 waits for its own timeouts on a graceful stop: don't
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    log.close()


@pytest.fixture
def qcluster(start_qcluster):
    """A real django-q2 worker on the test database, stopped after the test."""
    return start_qcluster()


@pytest.fixture
def control(exchange):
    """The control API of the module's simulated organization (its ``exchange`` fixture), for one
    test: ``control.since`` marks where this test's cmdlet calls begin; every server runs again after."""
    client = ControlClient.for_simulator(exchange)
    previous = client.calls()
    client.since = previous[-1]["seq"] if previous else 0
    yield client
    for server in exchange.org.servers:
        exchange.start_server(server.name)
    client.close()


@pytest.fixture
def persona_client(client, db):
    """``persona_client("operator")`` is a test client signed in as that persona."""

    def make(persona: str):
        user = make_persona(persona)
        if user is not None:
            client.force_login(user)
        return client

    return make


KERBEROS_REALM = "CONTOSO.TEST"
SIMULATED_SERVERS = [f"127.0.0.{n}" for n in range(11, 19)]  # the simulator's default addresses (127.0.0.11 on)


def kdc_needed(*, skew: bool = False) -> None:
    """Fail (in CI) or skip (elsewhere, with the packages to install) when the KDC cannot run here."""
    missing = [f"Debian's {' '.join(kdc_runner.DEBIAN_PACKAGES)} (missing {', '.join(kdc_runner.missing_programs())})"
               if kdc_runner.missing_programs() else "", kerberos.unavailable_reason() or ""]
    if skew and not os.path.exists(kdc_runner.FAKETIME_LIBRARY):
        missing.append("Debian's libfaketime (to shift the KDC's clock)")
    missing = [m for m in missing if m]
    if missing:
        message = "the Kerberos tests need " + "; ".join(missing) + ": python3 -m easconsole.bootstrap test installs them"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def kdc():
    """Debian's MIT KDC on loopback with a throwaway realm CONTOSO.TEST: the simulator's accounts
    (easadmin, easviewer, same passwords) and HTTP/<address> of every simulated server, whose keys
    are in ``kdc.keytab`` (give it to ``running_simulator(auth=("kerberos",), keytab=...)``)."""
    kdc_needed()
    users = {name.rpartition("\\")[2]: password for name, password in DEFAULT_ACCOUNTS.items()}
    with kdc_runner.running_kdc(KERBEROS_REALM, users=users, services=[f"HTTP/{a}" for a in SIMULATED_SERVERS]) as running:
        yield running
