"""Generation: deterministic from the seed, realistic values, sizes, servers and accounts."""
from __future__ import annotations

import collections
import datetime as dt
import re
import time

from easconsole.exchange.simulator.organization import Organization

from .conftest import ENGINE_NOW, EngineShell


def _devices(org: Organization) -> list[dict]:
    return EngineShell(org).run("Get-ActiveSyncDevice", ResultSize="Unlimited").props


def _luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return total % 10 == 0


def test_same_seed_gives_the_same_organization() -> None:
    a = Organization.generate(seed=3, devices=200, now=ENGINE_NOW)
    b = Organization.generate(seed=3, devices=200, now=ENGINE_NOW)
    assert _devices(a) == _devices(b)
    assert a.snapshot()["counts"] == b.snapshot()["counts"]


def test_another_seed_gives_other_devices() -> None:
    a = {d["DeviceId"] for d in _devices(Organization.generate(seed=3, devices=50, now=ENGINE_NOW))}
    b = {d["DeviceId"] for d in _devices(Organization.generate(seed=4, devices=50, now=ENGINE_NOW))}
    assert not a & b


def test_exact_device_count_and_a_realistic_spread_per_mailbox() -> None:
    org = Organization.generate(seed=1, devices=3000, now=ENGINE_NOW)
    counts = org.snapshot()["counts"]
    assert counts["devices"] == 3000
    per_user = collections.Counter(r["HasActiveSyncDevicePartnership"]
                                   for r in EngineShell(org).run("Get-CASMailbox", ResultSize="Unlimited").props)
    assert per_user[False] > 0  # a few mailboxes without any device
    assert 1.3 <= counts["devices"] / counts["users"] <= 1.8


def test_small_organizations_still_have_users() -> None:
    org = Organization.generate(seed=1, devices=0, now=ENGINE_NOW)
    assert org.snapshot()["counts"]["devices"] == 0
    assert org.snapshot()["counts"]["users"] >= 3
    assert Organization.generate(seed=1, devices=5, now=ENGINE_NOW).snapshot()["counts"]["devices"] == 5


def test_device_values_look_like_real_exchange_activesync_devices() -> None:
    devices = _devices(Organization.generate(seed=2, devices=800, now=ENGINE_NOW))
    types = {d["DeviceType"] for d in devices}
    assert {"iPhone", "iPad", "Outlook", "SAMSUNGSMG998B", "WindowsMail"} <= types
    for d in devices:
        assert re.fullmatch(r"[0-9A-F]{32}", d["DeviceId"])
        assert d["Identity"].endswith(f"\\ExchangeActiveSyncDevices\\{d['DeviceType']}§{d['DeviceId']}")
        assert d["Name"] == f"{d['DeviceType']}§{d['DeviceId']}"
        assert d["DistinguishedName"].startswith(f"CN={d['Name']},CN=ExchangeActiveSyncDevices,CN=")
        assert d["DeviceActiveSyncVersion"] in {"12.0", "14.1", "16.0", "16.1"}
        assert d["FirstSyncTime"].tzinfo is not None and d["FirstSyncTime"] <= ENGINE_NOW
        if d["DeviceImei"]:
            assert len(d["DeviceImei"]) == 15 and _luhn_ok(d["DeviceImei"])
    ios = [d for d in devices if d["DeviceType"] == "iPhone"]
    assert all(re.fullmatch(r"iOS \d+\.\d+(\.\d+)? \w+", d["DeviceOS"]) for d in ios)
    assert all(d["DeviceUserAgent"].startswith("Apple-iPhone") for d in ios)
    assert any(d["DeviceOS"].startswith("Android 14") for d in devices)
    assert any(d["FriendlyName"].endswith("'s iPhone") for d in ios)


def test_some_devices_have_not_synced_for_months() -> None:
    org = Organization.generate(seed=2, devices=500, now=ENGINE_NOW)
    stats = EngineShell(org).pipe(("Get-ActiveSyncDevice", {"ResultSize": "Unlimited"}),
                                  ("Get-ActiveSyncDeviceStatistics",)).props
    ages = [ENGINE_NOW - s["LastSuccessSync"] for s in stats]
    assert sum(a > dt.timedelta(days=90) for a in ages) > 10
    assert sum(a < dt.timedelta(days=3) for a in ages) > len(ages) / 2
    for s in stats:
        assert s["FirstSyncTime"] <= s["LastSuccessSync"] <= s["LastSyncAttemptTime"]


def test_generated_access_states_are_varied() -> None:
    by_state = Organization.generate(seed=1, devices=2000, now=ENGINE_NOW).snapshot()["counts"]["devices_by_access_state"]
    assert by_state["Allowed"] > by_state.get("Blocked", 0) > 0
    assert by_state.get("Quarantined", 0) > 0


def test_servers_cover_two_sites() -> None:
    org = Organization.generate(seed=1, devices=5, sites=("HQ", "Branch"))
    cas = collections.Counter(s.site_name for s in org.servers if "ClientAccess" in s.roles)
    mbx = collections.Counter(s.site_name for s in org.servers if "Mailbox" in s.roles)
    assert cas["HQ"] >= 2 and cas["Branch"] >= 1
    assert mbx == {"HQ": 1, "Branch": 1}
    assert all(s.site.endswith(f"/Configuration/Sites/{s.site_name}") for s in org.servers)


def test_default_account_and_passwords() -> None:
    org = Organization.generate(seed=1, devices=5)
    assert org.canonical_account("contoso\\SVC-EASCONSOLE") == "CONTOSO\\svc-easconsole"
    assert org.canonical_account("svc-easconsole@Contoso.com") == "CONTOSO\\svc-easconsole"
    password = org.password_for("CONTOSO\\svc-easconsole")
    assert password and org.check_password("svc-easconsole@contoso.com", password)
    assert not org.check_password("CONTOSO\\svc-easconsole", password + "x")
    assert org.canonical_account("CONTOSO\\nobody") is None and org.password_for("nobody") is None


def test_custom_accounts_replace_the_default() -> None:
    org = Organization.generate(seed=1, devices=5, accounts={"FABRIKAM\\ops": "pw1"}, domain="fabrikam.com",
                                name="Fabrikam")
    assert org.check_password("ops@fabrikam.com", "pw1")
    assert org.canonical_account("CONTOSO\\svc-easconsole") is None
    assert org.name == "Fabrikam" and org.domain == "fabrikam.com"


def test_generation_is_fast_enough_for_large_organizations() -> None:
    started = time.perf_counter()
    org = Organization.generate(seed=1, devices=20_000)
    assert time.perf_counter() - started < 5  # ~0.4 s measured; 100,000 devices take ~2 s
    assert org.snapshot()["counts"]["devices"] == 20_000
