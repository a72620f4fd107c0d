"""``/healthz`` for load balancers and monitors, and ``/metrics`` for Prometheus (docs/deployment.md).

Both answer without a sign-in and say nothing secret: states, counts, ages and durations, connectors
by id. ``/healthz`` answers 200 when the database and the broker answer and a worker finished a task
within ``EASCONSOLE_HEALTH_WORKER_SECONDS``, else 503; the age of each installed connector's last
successful discovery is reported for monitors to judge (a slow Exchange must not take the web
processes out of a load balancer). ``/metrics`` exists only with ``EASCONSOLE_METRICS=1``.
"""
from __future__ import annotations

import datetime as dt
import os

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from prometheus_client import Counter

from easconsole import extensions
from easconsole.exchange.errors import ExchangeConnectionError, ExchangeError

HEARTBEAT_SCHEDULE = "easconsole-worker-heartbeat"


def heartbeat() -> str:
    """The task the scheduler queues every minute: a worker that runs it shows it is alive."""
    return "alive"


def heartbeat_schedule() -> None:
    """Make sure the heartbeat is scheduled (called as a worker starts; one row however many start)."""
    from django_q.models import Schedule

    Schedule.objects.get_or_create(name=HEARTBEAT_SCHEDULE, defaults={
        "func": "easconsole.health.heartbeat", "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1})


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except Exception as error:  # noqa: BLE001 - any failure means "not healthy"; say which kind
        return {"ok": False, "vendor": connection.vendor, "error": type(error).__name__}


def _broker() -> dict:
    from django_q.brokers import get_broker

    try:
        broker = get_broker()
        return {"ok": bool(broker.ping()), "kind": "redis" if "redis" in settings.Q_CLUSTER else "orm"}
    except Exception as error:  # noqa: BLE001
        return {"ok": False, "error": type(error).__name__}


def _worker() -> dict:
    """The age of the last task a worker finished (the heartbeat runs every minute)."""
    from django_q.models import Task

    limit = settings.EASCONSOLE_HEALTH_WORKER_SECONDS
    try:
        last = Task.objects.order_by("-stopped").values_list("stopped", flat=True).first()
    except Exception as error:  # noqa: BLE001
        return {"ok": False, "error": type(error).__name__, "limit_seconds": limit}
    age = None if last is None else round((timezone.now() - last).total_seconds())
    return {"ok": age is not None and age <= limit, "last_task_age_seconds": age, "limit_seconds": limit}


@never_cache
@require_GET
def healthz(request):
    checks = {"database": _database(), "broker": _broker()}
    checks["worker"] = _worker() if checks["database"]["ok"] else {"ok": False}
    healthy = all(check["ok"] for check in checks.values())
    if checks["database"]["ok"]:
        for provider in extensions.health_reports:
            checks.update(provider())
    return JsonResponse({"status": "ok" if healthy else "failing", **checks}, status=200 if healthy else 503)


EXCHANGE_ERRORS = Counter("easconsole_exchange_errors", "Errors that ended an operation on Exchange, by kind.", ["kind"])


def exchange_error_kind(error: ExchangeError) -> str:
    """``unreachable``, ``authentication``, ``tls``, ``session``, ``configuration`` for connection errors,
    else the error's class (``ExchangePermissionError``, ``ExchangeThrottledError``, ...)."""
    if isinstance(error, ExchangeConnectionError) and getattr(error, "kind", ""):
        return error.kind
    return type(error).__name__


class CountedGateway:
    """A gateway that counts the Exchange errors leaving its ``with`` block (opening it included)."""

    def __init__(self, gateway) -> None:
        self._gateway = gateway

    def __getattr__(self, name):
        return getattr(self._gateway, name)

    def __enter__(self):
        try:
            return self._gateway.__enter__()
        except ExchangeError as error:
            EXCHANGE_ERRORS.labels(exchange_error_kind(error)).inc()
            raise

    def __exit__(self, kind, error, traceback):
        if isinstance(error, ExchangeError):
            EXCHANGE_ERRORS.labels(exchange_error_kind(error)).inc()
        return self._gateway.__exit__(kind, error, traceback)


class DatabaseCollector:
    """Figures read from the database at each scrape, so they hold across processes and machines."""

    def collect(self):
        from django.db.models import Count, F, Sum
        from django_q.models import Task
        from prometheus_client.core import SummaryMetricFamily

        tasks = SummaryMetricFamily("easconsole_task_duration_seconds",
                                    "Background tasks finished in the last hour, by function.", labels=["func", "success"])
        recent = (Task.objects.filter(stopped__gte=timezone.now() - dt.timedelta(hours=1))
                  .values("func", "success").annotate(count=Count("id"), total=Sum(F("stopped") - F("started"))))
        for row in recent:
            total = row["total"].total_seconds() if row["total"] is not None else 0.0
            tasks.add_metric([row["func"], str(row["success"]).lower()], row["count"], total)
        yield tasks
        for provider in extensions.metric_families:
            yield from provider()


@require_GET
def metrics(request):
    if not settings.EASCONSOLE_METRICS:
        raise Http404
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:  # several gunicorn processes: add up what each counted
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    database = CollectorRegistry()
    database.register(DatabaseCollector())
    return HttpResponse(generate_latest(registry) + generate_latest(database), content_type=CONTENT_TYPE_LATEST)
