"""Monitoring ▸ Discovery: discovery runs with their progress, and "Run full/delta discovery now" on a connector."""
from __future__ import annotations

import django_tables2 as tables
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from devices.discovery.services import discovery_request
from devices.models import DiscoveryRun
from easconsole.generic import ObjectListView, ObjectView
from easconsole.models import ExchangeConnector, Site
from easconsole.permissions import objects_for
from easconsole.tables import ConsoleTable
from easconsole.views.connectors import ConnectorMixin

ACTIVE_STATES = (DiscoveryRun.State.QUEUED, DiscoveryRun.State.RUNNING)


def readable_runs(user):
    """The discovery runs of connectors on sites the user may read."""
    sites = objects_for(user, "easconsole.read_site", Site.objects.all())
    return DiscoveryRun.objects.filter(connector__site__in=sites).select_related("connector", "requested_by")


class DiscoveryRunTable(ConsoleTable):
    queued = tables.DateTimeColumn(format="Y-m-d H:i:s", linkify=True)
    connector = tables.Column(_("Connector"), linkify=lambda record: record.connector.get_absolute_url())
    kind = tables.Column(_("Kind"))
    state = tables.Column(_("State"))
    devices_seen = tables.Column(_("Devices read"))
    rate = tables.Column(_("Devices/s"), empty_values=(), orderable=False)
    devices_missing = tables.Column(_("Gone"), attrs={"th": {"title": _("No longer in Exchange")}})
    devices_ignored = tables.Column(_("Ignored"), attrs={"th": {"title": _("Inactive devices left out")}})
    error = tables.Column(_("Error"), attrs={"td": {"class": "text-danger small"}})

    class Meta(ConsoleTable.Meta):
        model = DiscoveryRun
        fields = ["queued", "connector", "kind", "state", "devices_seen", "rate", "devices_added", "devices_changed",
                  "devices_missing", "devices_ignored", "error"]

    def render_kind(self, record):
        return _("Full") if record.kind == DiscoveryRun.Kind.FULL else _("Delta")

    def render_state(self, record):
        if record.state in ACTIVE_STATES and record.phase:
            return f"{record.get_state_display()} · {record.phase}"
        return record.get_state_display()

    def render_rate(self, record):
        return f"{record.rate:.0f}" if record.rate else "—"

    def render_error(self, value):
        return value if len(value) <= 90 else value[:87] + "..."


class DiscoveryRunListView(ObjectListView):
    queryset = DiscoveryRun.objects.all()
    table = DiscoveryRunTable
    permission_required = "easconsole.read_site"
    object_permission = False
    title = _("Discovery")
    template_name = "devices/discovery/run_list.html"

    def get_queryset(self):
        return readable_runs(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["running"] = readable_runs(self.request.user).filter(state__in=ACTIVE_STATES).exists()
        return context


def expected_progress(run: DiscoveryRun) -> dict:
    """How far a running discovery is against the last successful run of its kind (its total), and the time left."""
    if run.state not in ACTIVE_STATES:
        return {}
    last = (DiscoveryRun.objects.filter(connector=run.connector_id, kind=run.kind, state=DiscoveryRun.State.SUCCEEDED)
            .exclude(pk=run.pk).order_by("-finished", "-pk").values_list("devices_seen", flat=True).first())
    if not last:
        return {}
    expected = max(last, run.devices_seen)
    rate = run.rate
    return {"expected": expected, "percent": round(100 * run.devices_seen / expected),
            "seconds_left": round((expected - run.devices_seen) / rate) if rate else None}


class DiscoveryRunDetailView(ObjectView):
    """One run: its phase, counters and rate, refreshed by htmx while it runs."""

    queryset = DiscoveryRun.objects.select_related("connector__site", "requested_by")
    permission_required = "easconsole.read_site"
    template_name = "devices/discovery/run_detail.html"

    def get_object(self):
        self.check_permission()
        run = get_object_or_404(self.queryset, pk=self.kwargs["pk"])
        if not readable_runs(self.request.user).filter(pk=run.pk).exists():
            raise Http404
        return run

    def get(self, request, *args, **kwargs):
        run = self.get_object()
        if request.headers.get("HX-Request") or request.GET.get("pane"):
            self.template_name = "devices/discovery/_run_progress.html"
        # The title names the run without its state: the state is the badge, which follows the run (htmx).
        title = _("%(kind)s of %(connector)s") % {"kind": run.get_kind_display(), "connector": run.connector}
        return self.render_to_response(self.get_context_data(
            object=run, title=title, active=run.state in ACTIVE_STATES, **expected_progress(run)))


class ConnectorDiscoverView(ConnectorMixin, ObjectView):
    """Run full (or delta) discovery now: queues a run and shows its progress."""

    permission_required = "easconsole.modify_site"

    def get_object(self):
        if self.kwargs["kind"] not in DiscoveryRun.Kind.values:
            raise Http404
        return super().get_object()

    template_name = "devices/discovery/confirm.html"

    def get_context_data(self, **kwargs):
        # The page belongs to the connector (Administration), not to a list of this app.
        return super(ObjectView, self).get_context_data(**kwargs)

    def get(self, request, *args, **kwargs):
        connector = self.get_object()
        kind = DiscoveryRun.Kind(self.kwargs["kind"])
        running = DiscoveryRun.objects.filter(connector=connector, state__in=ACTIVE_STATES).first()
        return self.render_to_response(self.get_context_data(
            object=connector, kind=kind, running=running, list_url=connector.get_absolute_url(), list_title=str(connector),
            title=_("Run %(kind)s now") % {"kind": kind.label.lower()}))

    def post(self, request, *args, **kwargs):
        connector: ExchangeConnector = self.get_object()
        try:
            run = discovery_request(connector=connector, kind=self.kwargs["kind"], user=request.user, address=self.address)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(connector.get_absolute_url())
        messages.success(request, _("%(kind)s of %(name)s queued.") % {"kind": run.get_kind_display(), "name": connector.name})
        return HttpResponseRedirect(reverse("devices:discoveryrun_detail", args=[run.pk]))


def last_discovery_section(connector: ExchangeConnector) -> tuple[str, list[tuple[str, object]]]:
    """The connector's "Last discovery" section: the last run of each kind, one running now, the inventory."""
    from django.db.models import Count, Q
    from django.utils.html import format_html

    def describe(run: DiscoveryRun | None):
        if run is None:
            return None
        when = timezone.localtime(run.finished or run.started or run.queued)
        text = _("%(state)s %(when)s: %(seen)s read, %(added)s added, %(changed)s changed, %(missing)s no longer in Exchange") % {
            "state": run.get_state_display(), "when": when.strftime("%Y-%m-%d %H:%M"), "seen": run.devices_seen,
            "added": run.devices_added, "changed": run.devices_changed, "missing": run.devices_missing}
        if run.state == DiscoveryRun.State.FAILED:
            text = _("Failed %(when)s: %(error)s") % {"when": when.strftime("%Y-%m-%d %H:%M"), "error": run.error}
        return format_html('<a href="{}">{}</a>', reverse("devices:discoveryrun_detail", args=[run.pk]), text)

    runs = DiscoveryRun.objects.filter(connector=connector).order_by("-queued", "-pk")
    active = runs.filter(state__in=ACTIVE_STATES).first()
    counts = connector.devices.aggregate(total=Count("pk"), missing=Count("pk", filter=Q(missing_since__isnull=False)))
    rows = [
        (_("Last full discovery"), describe(runs.filter(kind=DiscoveryRun.Kind.FULL).exclude(state__in=ACTIVE_STATES).first())),
        (_("Last delta discovery"), describe(runs.filter(kind=DiscoveryRun.Kind.DELTA).exclude(state__in=ACTIVE_STATES).first())),
        (_("Running now"), format_html('<a href="{}">{} · {} · {}</a>', reverse("devices:discoveryrun_detail", args=[active.pk]),
                                       active.get_kind_display(), active.phase or active.get_state_display(),
                                       _("%(n)s devices read") % {"n": active.devices_seen}) if active else None),
        (_("Devices discovered"), _("%(total)s (%(missing)s no longer in Exchange)") % counts),
    ]
    return _("Last discovery"), rows
