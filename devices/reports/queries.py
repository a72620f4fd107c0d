"""The reports' reads: counts grouped in SQL (aggregates), so a report costs the same few queries at 100,000 devices."""
from __future__ import annotations

from datetime import timedelta

from django.db.models import Case, CharField, Count, F, Q, QuerySet, Value, When
from django.db.models.functions import Left, StrIndex, Trim
from django.db.models.lookups import GreaterThan
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


UNKNOWN = "Unknown"
COMPLIANT = "AppliedInFull"
POLICY_STATUSES = (COMPLIANT, "PartiallyApplied", "NotApplied", "ExternallyManaged", UNKNOWN)
# (label, more than N days, at most M days): the inactive report's age buckets.
AGE_BUCKETS = (
    (_("30–60 days"), 30, 60),
    (_("60–90 days"), 60, 90),
    (_("90–180 days"), 90, 180),
    (_("More than 180 days"), 180, None),
)


def bars(counts) -> list[tuple[str, int, float]]:
    """(label, count, percent of the total) for CSS bars."""
    counts = list(counts)
    total = max(sum(count for _label, count in counts), 1)
    return [(label, count, 100 * count / total) for label, count in counts]


def _grouped(queryset: QuerySet, expression) -> list[tuple[str, int]]:
    rows = (queryset.order_by().annotate(group=expression).values("group").annotate(n=Count("pk")).values_list("group", "n"))
    merged: dict[str, int] = {}
    for group, n in rows:
        key = group or UNKNOWN
        merged[key] = merged.get(key, 0) + n
    return sorted(merged.items(), key=lambda item: (-item[1], item[0].lower()))


def by_os_family(queryset: QuerySet) -> list[tuple[str, int]]:
    """Devices per operating system family: the first word of DeviceOS ("iOS 17.5.1 21F90" → "iOS")."""
    os = Trim("device_os")
    space = StrIndex(os, Value(" "))
    family = Case(
        When(GreaterThan(space, 0), then=Left(os, space - 1)),
        default=os, output_field=CharField(),
    )
    return _grouped(queryset, family)


def by_field(queryset: QuerySet, field: str) -> list[tuple[str, int]]:
    return _grouped(queryset, F(field))


def by_age(queryset: QuerySet, days: int = 30, now=None) -> list[tuple[str, int]]:
    """Inactive devices per age bucket of their last sync, in one query (buckets wholly under ``days`` left out)."""
    now = now or timezone.now()
    aggregates = {}
    for index, (_label, older, newer) in enumerate(AGE_BUCKETS):
        query = Q(last_success_sync__lt=now - timedelta(days=older))
        if newer is not None:
            query &= Q(last_success_sync__gte=now - timedelta(days=newer))
        aggregates[f"b{index}"] = Count("pk", filter=query)
    aggregates["never"] = Count("pk", filter=Q(last_success_sync__isnull=True))
    counts = queryset.order_by().aggregate(**aggregates)
    return [*[(str(label), counts[f"b{i}"]) for i, (label, _o, newer) in enumerate(AGE_BUCKETS) if newer is None or newer > days],
            (str(_("Never synced")), counts["never"])]


def policy_status(value: str) -> str:
    return value if value in POLICY_STATUSES else UNKNOWN


def compliance_by_connector(queryset: QuerySet) -> dict[int | None, dict[str, int]]:
    """{connector id: {DevicePolicyApplicationStatus: devices}}, every status present (0 if none)."""
    result: dict[int | None, dict[str, int]] = {}
    rows = queryset.order_by().values("connector", "policy_application_status").annotate(n=Count("pk"))
    for row in rows.values_list("connector", "policy_application_status", "n"):
        connector, status, n = row
        counts = result.setdefault(connector, dict.fromkeys(POLICY_STATUSES, 0))
        counts[policy_status(status)] += n
    return result
