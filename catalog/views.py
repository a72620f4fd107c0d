"""The Application Catalog: "My Devices", where an end user wipes a lost device or cancels that wipe.

A device that is not the user's answers 404 whatever the URL or form field, and nothing is sent or
recorded but the refusal in the audit trail.
"""
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from catalog.selectors import my_devices
from devices.actions import rules, services
from devices.models import Device, DeviceAction
from easconsole import audit
from easconsole.models import AuditEvent

Kind = DeviceAction.Kind


def device_card(device: Device) -> dict:
    """What the catalog shows of a device: its open wipe, the last finished one, and what may be done."""
    actions = list(device.actions.filter(kind__in=DeviceAction.WIPES).order_by("-requested_at")[:1])
    latest = actions[0] if actions else None
    return {
        "device": device,
        "wipe": latest,
        "open": latest is not None and latest.is_open,
        "account_wipe_reason": rules.account_wipe_unavailable(device),
    }


class CatalogView(LoginRequiredMixin, TemplateView):
    def my_device(self, pk, kind: str) -> Device:
        """The user's own device, or 404 (and the attempt on someone else's device is audited)."""
        device = my_devices(self.request.user).filter(pk=pk).first()
        if device is None:
            other = Device.objects.filter(pk=pk).first()
            audit.record(user=self.request.user, action=f"request {kind}", obj=other, object_type="mobile device",
                         object_repr=str(other or f"device {pk}"), address=audit.client_address(self.request),
                         outcome=AuditEvent.Outcome.DENIED, message="Application Catalog: not the user's device.")
            raise Http404
        return device


class MyDevicesView(CatalogView):
    """My Devices: the devices affine to the signed-in person."""

    template_name = "catalog/my_devices.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["cards"] = [device_card(d) for d in my_devices(self.request.user)]
        return context


class DeviceStatusView(CatalogView):
    """One device's card, polled by htmx while its wipe moves along."""

    template_name = "catalog/_device_card.html"

    def get(self, request, pk):
        device = self.my_device(pk, "view")
        return self.render_to_response({"card": device_card(device)})


class WipeView(CatalogView):
    """Wipe my device: what will happen in plain words, an explicit confirmation, then the request."""

    template_name = "catalog/wipe.html"

    def get(self, request, pk):
        device = self.my_device(pk, Kind.WIPE)
        return self.render_to_response(self.context(device))

    def context(self, device, error: str = ""):
        return {"device": device, "error": error, "account_wipe_reason": rules.account_wipe_unavailable(device),
                "full": str(rules.CONSEQUENCE[Kind.WIPE]).format(device=device.friendly_name or device.device_model or device.name),
                "account": str(rules.CONSEQUENCE[Kind.ACCOUNT_WIPE]).format(device=device.friendly_name or device.device_model or device.name)}

    def post(self, request, pk):
        kind = request.POST.get("kind", Kind.WIPE)
        device = self.my_device(pk, kind)
        if kind not in (Kind.WIPE, Kind.ACCOUNT_WIPE):
            raise Http404
        if request.POST.get("understood") != "yes":
            return self.render_to_response(self.context(device, _("Tick the box to confirm that you understand what the wipe does.")))
        try:
            services.action_request(device=device, kind=kind, user=request.user, address=audit.client_address(request), via_catalog=True)
        except services.ActionRefused as refused:
            return self.render_to_response(self.context(device, str(refused)))
        except PermissionDenied:
            raise Http404
        messages.success(request, _("The wipe is requested. It happens the next time the device connects to Exchange."))
        return HttpResponseRedirect(reverse("catalog:my_devices"))


class CancelWipeView(CatalogView):
    http_method_names = ["post"]

    def post(self, request, pk):
        device = self.my_device(pk, Kind.CANCEL_WIPE)
        try:
            services.action_request(device=device, kind=Kind.CANCEL_WIPE, user=request.user,
                                    address=audit.client_address(request), via_catalog=True)
        except services.ActionRefused as refused:
            messages.error(request, str(refused))
        except PermissionDenied:
            raise Http404
        else:
            messages.success(request, _("The wipe is being cancelled."))
        return HttpResponseRedirect(reverse("catalog:my_devices"))
