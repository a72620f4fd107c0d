"""Stale-device cleanup pages: the connector's rule with its previews, a run (approve it), and the report."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_tables2 import RequestConfig

from devices.cleanup import selectors, services
from devices.cleanup.forms import CleanupRuleForm, RemovedDeviceFilterSet
from devices.cleanup.models import MIN_DAYS, CleanupCandidate, CleanupRun
from devices.cleanup.tables import CleanupCandidateTable, RemovedDeviceTable
from easconsole.generic import ConsoleView, ObjectListView, ObjectView
from easconsole.views.connectors import ConnectorMixin


def cap_figures() -> dict:
    """The monthly cap, what this month's cleanups removed (or are removing) and what is left of it."""
    return {"cap": settings.EASCONSOLE_CLEANUP_MONTHLY_CAP, "used": selectors.removals_this_month(),
            "reserved": selectors.reserved(), "remaining": selectors.cap_remaining()}


class CleanupRuleView(ConnectorMixin, ObjectView):
    """The connector's cleanup rule (Full and Operations Administrators), its previews and runs."""

    permission_required = "easconsole.read_site"
    template_name = "devices/cleanup/rule.html"

    def get_object(self):
        connector = super().get_object()
        if not selectors.may_prepare(self.request.user, connector):
            raise PermissionDenied
        return connector

    def get_context_data(self, **kwargs):
        # The page belongs to the connector (Administration), not to a list of this app.
        context = super(ObjectView, self).get_context_data(**kwargs)
        connector = context["object"]
        context.update(list_url=connector.get_absolute_url(), list_title=str(connector),
                       title=_("Stale-device cleanup of %(name)s") % {"name": connector.name},
                       runs=CleanupRun.objects.filter(connector=connector)[:10], active=selectors.active_run(connector),
                       min_days=MIN_DAYS, rule=services.rule_for(connector),
                       **cap_figures())
        return context

    def get(self, request, *args, **kwargs):
        connector = self.get_object()
        form = CleanupRuleForm(instance=services.rule_for(connector), user=request.user)
        return self.render_to_response(self.get_context_data(object=connector, form=form))

    def post(self, request, *args, **kwargs):
        connector = self.get_object()
        form = CleanupRuleForm(request.POST, instance=services.rule_for(connector), user=request.user)
        if form.is_valid():
            try:
                services.cleanup_rule_save(rule=form.instance, user=request.user, address=self.address)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("The cleanup rule of %(name)s is saved.") % {"name": connector.name})
                return HttpResponseRedirect(request.path)
        return self.render_to_response(self.get_context_data(object=connector, form=form), status=400)


class CleanupPreviewView(ConnectorMixin, ConsoleView):
    """Preview (dry run): freezes the list and shows it."""

    permission_required = "easconsole.read_site"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        connector = self.get_object()
        try:
            run = services.cleanup_preview(connector=connector, user=request.user, address=self.address)
        except services.CleanupRefused as refusal:
            messages.error(request, str(refusal))
            return HttpResponseRedirect(reverse_rule(connector))
        return HttpResponseRedirect(run.get_absolute_url())


def reverse_rule(connector) -> str:
    return reverse("devices:cleanup_rule", args=[connector.pk])


def readable_run(view: ConsoleView, pk: int) -> CleanupRun:
    """The run, if the user may read its connector's site (404 otherwise: its existence is not revealed)."""
    view.check_permission()
    run = get_object_or_404(CleanupRun.objects.select_related("connector__site"), pk=pk)
    if not selectors.may_read(view.request.user, run.connector):
        raise Http404
    return run


class CleanupRunDetailView(ObjectView):
    """A run: its frozen list and, once approved, what was removed, skipped or failed, and when."""

    queryset = CleanupRun.objects.all()
    permission_required = "easconsole.read_site"
    template_name = "devices/cleanup/run_detail.html"

    def get(self, request, *args, **kwargs):
        run = readable_run(self, self.kwargs["pk"])
        table = CleanupCandidateTable(run.candidates.select_related("action"), request=request)
        RequestConfig(request, paginate={"per_page": 100}).configure(table)
        user = request.user
        context = super(ObjectView, self).get_context_data(
            object=run, table=table, summary=services.summary(run), title=_("Stale-device cleanup of %(name)s") % {"name": run.connector.name},
            list_url=reverse_rule(run.connector) if selectors.may_prepare(user, run.connector) else run.connector.get_absolute_url(),
            list_title=str(run.connector), may_approve=selectors.may_approve(user, run.connector),
            own_preview=run.previewed_by_id == user.pk, **cap_figures())
        return self.render_to_response(context)


class CleanupRunApproveView(ConsoleView):
    """Approve a preview (a Full Administrator other than the one who made it)."""

    permission_required = "easconsole.read_site"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        run = readable_run(self, self.kwargs["pk"])
        try:
            services.cleanup_approve(run=run, user=request.user, address=self.address)
        except services.CleanupRefused as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(request, _("Approved: the devices are removed in batches, and this page shows each outcome."))
        return HttpResponseRedirect(run.get_absolute_url())


class RemovedDeviceListView(ObjectListView):
    """Reports ▸ Removed stale devices: what the cleanups removed and when, with a date range; CSV."""

    queryset = CleanupCandidate.objects.all()
    table = RemovedDeviceTable
    filterset = RemovedDeviceFilterSet
    permission_required = "easconsole.read_site"
    object_permission = False
    title = _("Removed stale devices")

    def get_queryset(self):
        return selectors.removed(self.request.user)


def connector_section(connector, user):
    """The connector page's "Stale-device cleanup" section: the rule, the last preview or run, the month's cap."""
    rule = services.rule_for(connector)
    last = CleanupRun.objects.filter(connector=connector).exclude(state=CleanupRun.State.DISCARDED).first()
    text = (gettext("On: devices not synced for %(days)s days") % {"days": rule.days_not_synced}) if rule.enabled else gettext("Off")
    rows = [(_("Rule"), format_html('{} · <a href="{}" data-testid="cleanup-link">{}</a>', text, reverse("devices:cleanup_rule", args=[connector.pk]),
                                    gettext("Edit the rule, preview"))
             if selectors.may_prepare(user, connector) else text)]
    if last is not None:
        rows.append((_("Last preview or run"), format_html('<a href="{}">{} · {}</a>', last.get_absolute_url(),
                                                            f"{timezone.localtime(last.previewed):%Y-%m-%d %H:%M}", last.get_state_display())))
    rows.append((_("Removed this month (all connectors)"), _("%(used)s of %(cap)s") % {
        "used": selectors.removals_this_month(), "cap": settings.EASCONSOLE_CLEANUP_MONTHLY_CAP}))
    return _("Stale-device cleanup"), rows
