"""Wipe, account-only wipe, cancel wipe, allow, block and delete: on one device, on a selection, and their list."""
from __future__ import annotations

from django.contrib import messages
from django.db.models import Count
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from devices.actions import rules, services
from devices.actions.forms import ConfirmActionForm, ReasonForm
from devices.actions.tables import DeviceActionFilterSet, DeviceActionTable
from devices.filtersets import DeviceFilterSet
from devices.models import Device, DeviceAction
from devices.selectors import actions_for, devices_for
from easconsole.generic import ConsoleView, ObjectDetailView, ObjectListView

Kind = DeviceAction.Kind


def _kind(value: str) -> str:
    if value not in Kind.values:
        raise Http404
    return value


class DeviceActionView(ConsoleView):
    """Confirm, then request, one action on one device."""

    template_name = "devices/action_confirm.html"
    permission_required = "devices.read_collection"

    def setup_action(self):
        self.check_permission()
        self.kind = _kind(self.kwargs["kind"])
        self.device = get_object_or_404(devices_for(self.request.user).select_related("connector"), pk=self.kwargs["pk"])
        self.open_wipe = services.open_wipe(self.device)
        self.needs_words = self.kind == Kind.DELETE and self.open_wipe is not None

    def render_confirm(self, form):
        return self.render_to_response(self.get_context_data(
            title=_("%(action)s: %(device)s") % {"action": Kind(self.kind).label, "device": self.device.name},
            device=self.device, kind=self.kind, kind_label=Kind(self.kind).label, form=form, open_wipe=self.open_wipe, needs_words=self.needs_words,
            consequence=str(rules.CONSEQUENCE[self.kind]).format(device=self.device.name),
            refusal=rules.refusal(self.device, self.kind, open_wipe=self.open_wipe, confirmed_wipe_loss=True),
            # A full wipe asks first whether the account alone would do, where the device supports it (issue 16).
            account_wipe_offered=self.kind == Kind.WIPE and rules.account_wipe_unavailable(self.device) is None,
        ))

    def get(self, request, *args, **kwargs):
        self.setup_action()
        if not services.may_request(request.user, self.device, self.kind):
            raise PermissionDenied
        return self.render_confirm(ConfirmActionForm(device=self.device, needs_words=self.needs_words))

    def post(self, request, *args, **kwargs):
        self.setup_action()
        if not services.may_request(request.user, self.device, self.kind):
            services.deny(user=request.user, device=self.device, kind=self.kind, address=self.address)
        form = ConfirmActionForm(request.POST, device=self.device, needs_words=self.needs_words)
        if not form.is_valid():
            return self.render_confirm(form)
        try:
            action = services.action_request(device=self.device, kind=self.kind, user=request.user, address=self.address,
                                             confirmed_wipe_loss=self.needs_words, reason=form.cleaned_data["reason"])
        except services.ActionRefused as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, _("%(action)s requested for %(device)s: it is on its way to Exchange.") % {
                "action": action.get_kind_display(), "device": self.device.name})
        return HttpResponseRedirect(self.device.get_absolute_url())


class BulkActionView(ConsoleView):
    """An action on the devices selected in a list: confirm (permitted and refused listed), then request each.

    The selection is either the ticked devices (``device``), or every device matching the list's filter
    (``all_matching=1`` with the list's query string in ``filter``): that filter is evaluated again here,
    within the user's scope, and the confirmation lists what it matches now; at most ``LIMIT`` devices.
    """

    template_name = "devices/action_bulk.html"
    permission_required = "devices.read_collection"
    http_method_names = ["post"]
    LIMIT = 1000

    def selection(self, request):
        """The devices the user may see among those chosen, or an error message."""
        visible = devices_for(request.user).select_related("connector")
        if request.POST.get("all_matching") != "1":
            ids = [i for i in request.POST.getlist("device") if i.isdigit()][:self.LIMIT]
            return list(visible.filter(pk__in=ids)), None
        matching = DeviceFilterSet(QueryDict(request.POST.get("filter", "")), queryset=visible, request=request)
        if not matching.is_valid():
            return [], _("The list's filter is not valid any more; filter the list again.")
        devices = list(matching.qs.order_by("name", "pk")[:self.LIMIT + 1])
        if len(devices) > self.LIMIT:
            return [], _("The filter matches more than %(limit)d devices: narrow it, or act on fewer at a time.") % {"limit": self.LIMIT}
        return devices, None

    def post(self, request, *args, **kwargs):
        self.check_permission()
        kind = _kind(self.kwargs["kind"])
        if kind == Kind.DELETE:
            raise PermissionDenied(_("Delete devices one at a time."))
        visible, problem = self.selection(request)
        back = reverse("devices:device_list") + (f"?{request.POST['filter']}" if request.POST.get("filter") else "")
        if problem:
            messages.error(request, problem)
            return HttpResponseRedirect(back)
        permitted = devices_for(request.user, rules.PERMISSION[kind], Device.objects.filter(pk__in=[d.pk for d in visible]))
        permitted_ids = set(permitted.values_list("pk", flat=True))
        allowed = [d for d in visible if d.pk in permitted_ids]
        refused = [d for d in visible if d.pk not in permitted_ids]
        form = ReasonForm(request.POST)
        all_matching = request.POST.get("all_matching") == "1"
        if all_matching and request.POST.get("confirm") == "1" and request.POST.get("count") != str(len(visible)):
            messages.warning(request, _("The filter matches %(n)d devices now, not as many as before: check the list below again.")
                             % {"n": len(visible)})
        elif request.POST.get("confirm") == "1" and form.is_valid():
            return self.request_each(kind, allowed, refused, form.cleaned_data["reason"])
        return self.render_to_response(self.get_context_data(
            title=_("%(action)s: %(n)d devices") % {"action": Kind(kind).label, "n": len(visible)}, kind=kind, form=form,
            allowed=allowed, refused=refused, back=back, all_matching=all_matching, filter=request.POST.get("filter", ""),
            count=len(visible), consequence=capfirst(str(rules.CONSEQUENCE[kind]).format(device=_("each device")))))

    def request_each(self, kind, allowed, refused, reason):
        request = self.request
        done, failed = [], []
        for device in allowed:
            try:
                services.action_request(device=device, kind=kind, user=request.user, address=self.address, reason=reason)
                done.append(device.name)
            except (services.ActionRefused, PermissionDenied) as error:
                failed.append(f"{device.name} ({error or _('not permitted')})")
        for device in refused:
            try:
                services.deny(user=request.user, device=device, kind=kind, address=self.address, message="Not permitted (bulk action).",
                              reason=reason)
            except PermissionDenied:
                pass
        if done:
            messages.success(request, _("%(action)s requested for %(n)d device(s).") % {"action": Kind(kind).label, "n": len(done)})
        if failed or refused:
            messages.warning(request, _("Not requested: %(names)s.") % {
                "names": ", ".join(failed + [f"{d.name} ({_('not permitted')})" for d in refused])})
        return HttpResponseRedirect(reverse("devices:deviceaction_list"))


class DeviceActionListView(ObjectListView):
    """Monitoring ▸ Device actions: every request and where it stands (expired and failed ones stand out)."""

    queryset = DeviceAction.objects.select_related("connector")
    table = DeviceActionTable
    filterset = DeviceActionFilterSet
    permission_required = "devices.read_collection"
    object_permission = False
    title = gettext_lazy("Device actions")

    template_name = "devices/deviceaction_list.html"

    def get_queryset(self):
        return actions_for(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Wipes that ended without reaching the device are raised here, with a link to them.
        context["unfinished_wipes"] = dict(
            self.get_queryset().filter(kind__in=DeviceAction.WIPES, state__in=[DeviceAction.State.EXPIRED, DeviceAction.State.FAILED])
            .values_list("state").annotate(n=Count("pk")))
        return context


class DeviceActionDetailView(ObjectDetailView):
    queryset = DeviceAction.objects.select_related("connector", "device")
    permission_required = "devices.read_collection"

    def get_object(self):
        action = super().get_object()
        if action.device is not None and not devices_for(self.request.user).filter(pk=action.device_id).exists():
            raise Http404
        return action

    def get_sections(self, obj):
        return [
            (_("Request"), [(_("Action"), obj.get_kind_display()), (_("Device"), obj.device_name), (_("State"), obj.get_state_display()),
                            (_("Requested by"), obj.requested_by_name), (_("From the Application Catalog"), obj.via_catalog),
                            (_("From address"), obj.address), (_("Requested"), obj.requested_at),
                            (_("Reason or ticket"), obj.reason)]),
            (_("Lifecycle"), [(_("Sent to Exchange"), obj.sent_at), (_("Pending on device"), obj.pending_at),
                              (_("Acknowledged"), obj.acknowledged_at), (_("Finished"), obj.finished_at),
                              (_("Attempts"), obj.attempts), (_("Next attempt"), obj.next_attempt_at), (_("Error"), obj.error)]),
            (_("Exchange"), [(_("Cmdlet"), obj.cmdlet), (_("Parameters"), obj.parameters), (_("Exchange's answer"), obj.exchange_answer)]),
        ]


class WipeReportView(DeviceActionListView):
    """Reports ▸ Wipe actions: requested, sent, acknowledged, cancelled, failed and expired wipes, with who and when."""

    template_name = "devices/wipe_report.html"
    title = gettext_lazy("Wipe actions")

    def get_queryset(self):
        return super().get_queryset().filter(kind__in=DeviceAction.WIPES)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        counts = dict(self.get_queryset().values_list("state").annotate(n=Count("pk")))
        total = max(sum(counts.values()), 1)
        context["by_state"] = [(label, counts.get(state, 0), 100 * counts.get(state, 0) / total)
                               for state, label in DeviceAction.State.choices if state != DeviceAction.State.DONE]
        return context
