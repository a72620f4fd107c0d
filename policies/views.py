"""The connector's Settings and Access Rules tabs (Properties of an Exchange Server connector).

Anyone who may read the connector's site sees them; only ModifyConnectorPolicy on that site may
change them (others see the pages read-only, and a POST from them is refused with 403).
"""
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from easconsole.generic import ConsoleView
from easconsole.models import ExchangeConnector
from easconsole.permissions import has_perm
from policies import services
from policies.forms import AccessSettingsForm, PolicySettingsForm, access_initial, policy_initial

READ = "easconsole.read_site"
MODIFY = "easconsole.modify_connector_policy"


class ConnectorPolicyView(ConsoleView):
    """One tab of a connector's properties, edited through a form and a service."""

    permission_required = READ
    queryset = ExchangeConnector.objects.select_related("site")
    template_name = "policies/connector_tab.html"
    tab: str = ""
    tab_title: str = ""

    def get_connector(self) -> ExchangeConnector:
        """The connector if the user may read its site; 404 for connectors outside their scope."""
        self.check_permission()
        connector = get_object_or_404(self.queryset, pk=self.kwargs["pk"])
        if not has_perm(self.request.user, READ, connector.site):
            raise Http404
        return connector

    def may_modify(self, connector) -> bool:
        return has_perm(self.request.user, MODIFY, connector.site)

    def get_form(self, connector, data=None):
        raise NotImplementedError

    def perform_save(self, connector, form) -> None:
        raise NotImplementedError

    def render_form(self, connector, form, editable: bool):
        try:
            list_url = reverse("easconsole:exchangeconnector_list")
        except NoReverseMatch:  # the connector pages come with the wizard
            list_url = None
        context = self.get_context_data(
            connector=connector, form=form, editable=editable, tab=self.tab, list_url=list_url,
            list_title=_("Exchange Server Connectors"),
            title=_("Properties: %(connector)s — %(tab)s") % {"connector": connector, "tab": self.tab_title},
        )
        return self.render_to_response(context)

    def get(self, request, *args, **kwargs):
        connector = self.get_connector()
        editable = self.may_modify(connector)
        return self.render_form(connector, self.get_form(connector, read_only=not editable), editable)

    def post(self, request, *args, **kwargs):
        connector = self.get_connector()
        if not self.may_modify(connector):
            raise PermissionDenied(_("Changing a connector's settings and access rules needs ModifyConnectorPolicy on its site."))
        form = self.get_form(connector, data=request.POST)
        if form.is_valid():
            try:
                self.perform_save(connector, form)
            except ValidationError as error:
                form.add_error(None, error.messages)
            else:
                messages.success(request, _("Saved the %(tab)s of %(connector)s.") % {"tab": self.tab_title.lower(), "connector": connector})
                return HttpResponseRedirect(request.path)
        return self.render_form(connector, form, editable=True)


class ConnectorSettingsView(ConnectorPolicyView):
    tab = "settings"
    template_name = "policies/connector_settings.html"

    @property
    def tab_title(self):
        return _("Settings")

    def get_form(self, connector, data=None, read_only=False):
        return PolicySettingsForm(data, initial=policy_initial(connector), user=self.request.user, read_only=read_only)

    def perform_save(self, connector, form):
        services.policy_settings_save(connector=connector, user=self.request.user, address=self.address, **form.service_kwargs())


class ConnectorAccessRulesView(ConnectorPolicyView):
    tab = "access_rules"
    template_name = "policies/connector_access_rules.html"

    @property
    def tab_title(self):
        return _("Access Rules")

    def get_form(self, connector, data=None, read_only=False):
        return AccessSettingsForm(data, initial=access_initial(connector), user=self.request.user, read_only=read_only)

    def perform_save(self, connector, form):
        services.access_settings_save(connector=connector, user=self.request.user, address=self.address, **form.service_kwargs())
