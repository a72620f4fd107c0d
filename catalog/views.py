"""The Application Catalog: the self-service portal of end users."""
from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView


class MyDevicesView(LoginRequiredMixin, TemplateView):
    """My Devices: the devices affine to the signed-in person (affinity arrives with discovery)."""

    template_name = "catalog/my_devices.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["devices"] = []
        return context
