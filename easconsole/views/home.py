"""Sign-in, sign-out and the landing page of each persona."""
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.urls import reverse

from easconsole.permissions import ADMINISTRATOR, ANALYST, holds_anywhere, persona
from easconsole.signin.methods import directory_down_message, entra_id_failed_message, sign_in_methods


def landing_url(user) -> str:
    """Administrators and auditors land on the dashboard (the fleet at a glance), end users in the catalog."""
    who = persona(user)
    if who in (ADMINISTRATOR, ANALYST) and holds_anywhere(user, "devices.read_collection"):
        return reverse("devices:dashboard")
    if who == ADMINISTRATOR:
        return reverse("easconsole:exchangeconnector_list") if holds_anywhere(user, "easconsole.read_site") else reverse("devices:collection_list")
    if who == ANALYST:
        return reverse("easconsole:report_index")
    return reverse("catalog:my_devices")


def home(request):
    if not request.user.is_authenticated:
        return redirect("login")
    return redirect(landing_url(request.user))


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return landing_url(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["methods"] = sign_in_methods()
        context["directory_down"] = directory_down_message(self.request) or entra_id_failed_message(self.request)
        return context
