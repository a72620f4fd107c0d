"""Assets and Compliance ▸ Offboarding: offboard a user (find the mailbox, choose the wipes, confirm), and
each offboarding's outcome per device, followed live until it is finished."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from devices.actions import rules
from devices.models import Offboarding
from devices.offboarding import selectors, services
from devices.offboarding.forms import OffboardingForm
from devices.offboarding.tables import OffboardingTable
from devices.selectors import devices_for
from easconsole.generic import ConsoleView, ObjectListView
from easconsole.permissions import holds_anywhere


class OffboardingListView(ObjectListView):
    queryset = Offboarding.objects.all()
    table = OffboardingTable
    permission_required = "devices.read_collection"
    object_permission = False
    title = gettext_lazy("Offboarding")

    def get_queryset(self):
        return selectors.offboardings_for(self.request.user)

    def permitted_actions(self, obj=None):
        # Wiping is granted per collection: the button is for anyone who may wipe some device.
        if not holds_anywhere(self.request.user, services.PERMISSION):
            return []
        return [{"label": _("Offboard a user"), "url": reverse("devices:offboarding_add"), "style": "primary"}]


class OffboardingAddView(ConsoleView):
    """Find the mailbox (GET ``q``), see its devices and the wipe each gets (GET ``connector`` and
    ``mailbox``), confirm (POST): the offboarding starts and its page opens."""

    template_name = "devices/offboarding/offboarding_add.html"
    permission_required = services.PERMISSION

    def setup_mailbox(self, data):
        self.check_permission()
        connector, mailbox = data.get("connector", ""), data.get("mailbox", "").strip()
        if not connector.isdigit() or not mailbox:
            return None
        # Only the devices the person may read are shown; a mailbox with none of them does not exist for them.
        devices = list(devices_for(self.request.user, queryset=services.mailbox_devices(connector_id=int(connector), mailbox=mailbox)))
        if not devices:
            raise Http404
        return int(connector), devices

    def render_page(self, chosen, form=None):
        q = self.request.GET.get("q", "").strip()[:200]
        context = {"title": _("Offboard a user"), "q": q}
        if chosen is None:
            context["mailboxes"] = selectors.mailboxes(self.request.user, q)
        else:
            connector_id, devices = chosen
            everyone = list(services.mailbox_devices(connector_id=connector_id, mailbox=devices[0].mailbox))
            refused = services.refused_devices(self.request.user, everyone)
            full = set(form["full_wipe"].value() or []) if form is not None and form.is_bound else set()
            context.update(
                connector_id=connector_id, first=devices[0], refused=refused, form=form or OffboardingForm(devices=devices),
                rows=[{"device": d, "account_only_reason": rules.account_wipe_unavailable(d), "full": str(d.pk) in {str(f) for f in full}} for d in devices])
        return self.render_to_response(self.get_context_data(**context))

    def get(self, request, *args, **kwargs):
        return self.render_page(self.setup_mailbox(request.GET))

    def post(self, request, *args, **kwargs):
        chosen = self.setup_mailbox(request.POST)
        if chosen is None:
            raise Http404
        connector_id, devices = chosen
        form = OffboardingForm(request.POST, devices=devices)
        if not form.is_valid():
            return self.render_page(chosen, form)
        try:
            offboarding = services.start_offboarding(
                user=request.user, connector_id=connector_id, mailbox=devices[0].mailbox,
                full_wipe_device_ids=form.cleaned_data["full_wipe"], address=self.address)
        except services.OffboardingRefused as refused:
            messages.error(request, str(refused))
            return HttpResponseRedirect(reverse("devices:offboarding_add"))
        messages.success(request, _("Offboarding of %(user)s started: the wipes are on their way to Exchange.") % {"user": offboarding})
        return HttpResponseRedirect(offboarding.get_absolute_url())


class OffboardingDetailView(ConsoleView):
    """The outcome per device and the mailbox's state; refreshed every few seconds until finished."""

    template_name = "devices/offboarding/offboarding_detail.html"
    permission_required = "devices.read_collection"

    def get(self, request, *args, **kwargs):
        self.check_permission()
        offboarding = get_object_or_404(selectors.offboardings_for(request.user).select_related("connector"), pk=kwargs["pk"])
        if request.headers.get("HX-Request"):
            self.template_name = "devices/offboarding/_offboarding_outcome.html"
        rows = list(offboarding.devices.select_related("wipe"))
        for row in rows:
            row.last_sync = parse_datetime(row.snapshot.get("last_success_sync") or "")
        return self.render_to_response(self.get_context_data(
            title=_("Offboarding: %(user)s") % {"user": offboarding}, object=offboarding, rows=rows,
            finished=offboarding.finished_at is not None,
            acknowledged=sum(1 for r in rows if r.wipe and r.wipe.state == services.State.ACKNOWLEDGED)))
