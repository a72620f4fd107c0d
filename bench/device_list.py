"""Benchmark of Assets and Compliance ▸ Devices: the list page at 100,000 devices on SQLite.

Run by hand (it is not a test), from the project folder::

    .venv/bin/python bench/device_list.py [--devices 100000] [--requests 15] [--keep DIR]

It builds a throwaway database in a temporary folder (EASCONSOLE_VAR_DIR), migrates it, inserts the
devices with bulk_create, refreshes the collection memberships, then asks for the device list through
Django's test client as an Operations Administrator, and prints the median and 90th percentile time
of each kind of page, with the number of SQL queries, and the same for the REST API's device list.
Target: median under 150 ms.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGES = {
    "default page": {},
    "filtered (iOS, Allowed)": {"os_family": "ios", "access_state": "Allowed"},
    "filtered (inactive > 30 days)": {"inactive_days": "30"},
    "filtered (collection)": {"collection": "{collection}"},
    "search (user name)": {"q": "garcia"},
    "sorted by last sync": {"sort": "-last_success_sync"},
    "sorted by user": {"sort": "user_display_name"},
    "page 1,000": {"page": "1000"},
}

TYPES = [("iPhone", "iPhone15C2", "iOS 17.5.1 21F90"), ("iPhone", "iPhone16C1", "iOS 18.1 22B83"),
         ("iPad", "iPad13C1", "iOS 17.5.1 21F90"), ("SAMSUNGSMG998B", "SM-G998B", "Android 14.0.0"),
         ("Android", "Pixel 8", "Android 13.0.0"), ("Outlook", "Outlook for iOS and Android", "Outlook for iOS and Android 1.0"),
         ("WindowsMail", "Surface Pro 9", "Windows 10.0.22631"), ("WP8", "RM-1104_1001", "Windows Phone 10.0.15254")]
FIRST = ["Anna", "Ben", "Chloe", "David", "Emma", "Farid", "Grace", "Hiro", "Isabel", "Jonas", "Kara", "Liam", "Maya"]
LAST = ["Smith", "Johnson", "Garcia", "Müller", "Rossi", "Dubois", "Nowak", "Kim", "Tanaka", "Silva", "Jensen", "Chen"]
ACCESS = ["Allowed"] * 8 + ["Blocked", "Quarantined"]


def seed(count: int) -> None:
    from devices.models import Collection, CollectionRule, Device
    from devices.services import refresh_memberships

    rng = random.Random(5)
    now = datetime.now(timezone.utc)
    batch = []
    started = time.perf_counter()
    for n in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        mailbox = f"{first.lower()}.{last.lower()}{n // 3}"
        device_type, model, os_name = rng.choice(TYPES)
        device_id = uuid.UUID(int=rng.getrandbits(128)).hex.upper()
        synced = now - timedelta(minutes=rng.randint(1, 60 * 24 * 120))
        batch.append(Device(
            name=f"{mailbox}_{device_type}", exchange_guid=uuid.UUID(int=rng.getrandbits(128)), device_id=device_id,
            identity=f"contoso.com/Users/{mailbox}/ExchangeActiveSyncDevices/{device_type}§{device_id}", mailbox=mailbox,
            user_display_name=f"{first} {last}", user_principal_name=f"{mailbox}@contoso.com", device_type=device_type,
            device_model=model, device_os=os_name, device_active_sync_version="16.1", device_imei=f"35{n:013d}",
            access_state=rng.choice(ACCESS), access_state_reason="Global", status="DeviceOk", last_success_sync=synced,
            last_sync_attempt_time=synced, first_sync_time=synced - timedelta(days=200), last_discovered=now,
            missing_since=now if n % 500 == 0 else None,
        ))
        if len(batch) == 5000:
            Device.objects.bulk_create(batch)
            batch = []
    Device.objects.bulk_create(batch)
    executives = Collection.objects.create(name="iPhones")
    CollectionRule.objects.create(collection=executives, field="device_type", operator="equals", value="iPhone")
    inserted = time.perf_counter() - started
    started = time.perf_counter()
    counts = refresh_memberships()
    print(f"seeded {count:,} devices in {inserted:.1f} s; refresh_memberships() of {len(counts)} collections "
          f"({sum(counts.values()):,} memberships) in {time.perf_counter() - started:.2f} s")


def operator(username: str, collections=None):
    """An Operations Administrator, for all collections or only ``collections``."""
    from django.contrib.auth import get_user_model

    from easconsole import services
    from easconsole.models import RoleAssignment

    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        user = get_user_model().objects.create_user(username, password="Bench-Password-1")
        assignment = RoleAssignment(user=user, role=services.role_by_name("Operations Administrator"), all_sites=True,
                                    all_collections=collections is None)
        services.role_assignment_save(assignment=assignment, user=None, collections=collections or [])
    return user


def timed(client, url, params, requests):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, params)  # warm up
    times = []
    for _ in range(requests):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url, params)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return statistics.median(times), sorted(times)[int(len(times) * 0.9) - 1], len(queries)


def measure(requests: int) -> None:
    from django.test import Client
    from django.urls import reverse

    from devices.models import Collection

    client = Client()
    client.force_login(operator("operator"))
    url = reverse("devices:device_list")
    collection = Collection.objects.get(name="iPhones")
    print(f"\n{'page':36} {'median':>9} {'p90':>9} {'queries':>8}   (median of {requests} requests)")
    medians = []
    for label, params in PAGES.items():
        params = {key: value.format(collection=collection.pk) for key, value in params.items()}
        median, p90, queries = timed(client, url, params, requests)
        medians.append(median)
        print(f"{label:36} {median:7.1f} ms {p90:7.1f} ms {queries:8d}")
    scoped = Client()
    scoped.force_login(operator("iphone-operator", [collection]))
    for label, params in (("scoped to one collection: default", {}), ("scoped to one collection: page 500", {"page": "500"})):
        median, p90, queries = timed(scoped, url, params, requests)
        medians.append(median)
        print(f"{label:36} {median:7.1f} ms {p90:7.1f} ms {queries:8d}")
    print(f"{'worst median':36} {max(medians):7.1f} ms   target < 150 ms: {'met' if max(medians) < 150 else 'NOT MET'}")
    measure_api(client, requests)

    started = time.perf_counter()
    response = client.get(url, {"export": "csv"})
    size = sum(len(chunk) for chunk in response.streaming_content)
    seconds = time.perf_counter() - started
    tracemalloc.start()  # a second export for the memory: tracing slows Python down two or three times
    sum(len(chunk) for chunk in client.get(url, {"export": "csv"}).streaming_content)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"\nCSV export of every device (streamed): {size / 1e6:.1f} MB in {seconds:.1f} s (target 5 s), "
          f"peak Python memory {peak / 1e6:.1f} MB")


def measure_api(client, requests: int) -> None:
    """The REST API's device list (docs/api.md) in the same run: its first page, a filter, a search, and a page
    reached by following 20 cursors."""
    from django.urls import reverse

    url = reverse("api:device-list")
    deep = url
    for _ in range(20):
        deep = client.get(deep).json()["next"]
    print(f"\n{'API page':36} {'median':>9} {'p90':>9} {'queries':>8}")
    for label, target, params in (("API: first page", url, {}), ("API: filtered (iOS, Allowed)", url, PAGES["filtered (iOS, Allowed)"]),
                                  ("API: search (user name)", url, PAGES["search (user name)"]), ("API: 21st page (cursor)", deep, {})):
        median, p90, queries = timed(client, target, params, requests)
        print(f"{label:36} {median:7.1f} ms {p90:7.1f} ms {queries:8d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=15)
    parser.add_argument("--keep", help="use (and keep) this folder for the database instead of a temporary one")
    args = parser.parse_args()
    folder = args.keep or tempfile.mkdtemp(prefix="easconsole-bench-")
    os.environ["EASCONSOLE_VAR_DIR"] = folder
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "easconsole.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment

    from devices.models import Device

    setup_test_environment()
    call_command("migrate", verbosity=0)
    if not Device.objects.exists():
        seed(args.devices)
    with connection.cursor() as cursor:  # statistics for SQLite's planner (bench/load.py does the same on PostgreSQL)
        cursor.execute("ANALYZE")
    print(f"database: {Path(folder) / 'easconsole.sqlite3'} ({Device.objects.count():,} devices)")
    measure(args.requests)
    if not args.keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
