"""The connector's Settings and Access Rules tabs (Properties of an Exchange Server connector).

Anyone who may read the connector's site sees them; only ModifyConnectorPolicy on that site may
change them (others see the pages read-only, and a POST from them is refused with 403).
"""
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from easconsole.generic import ConsoleView
from easconsole.models import ExchangeConnector
from easconsole.permissions import has_perm
from devices.selectors import devices_for
from policies import push, selectors, services
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

    def needs_confirmation(self, connector, form) -> bool:
        return False

    def perform_save(self, connector, form) -> None:
        raise NotImplementedError

    def render_form(self, connector, form, editable: bool):
        try:
            list_url = reverse("easconsole:exchangeconnector_list")
        except NoReverseMatch:  # the connector pages come with the wizard
            list_url = None
        context = self.get_context_data(
            connector=connector, form=form, editable=editable, tab=self.tab, list_url=list_url,
            policy=services.connector_policy(connector), pushes=connector.policy_pushes.all()[:5],
            preview=getattr(self, "preview", None),
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
        if form.is_valid() and self.needs_confirmation(connector, form):
            return self.render_form(connector, form, editable=True)
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

    def needs_confirmation(self, connector, form) -> bool:
        """The what-if preview: a change that alters any device's access state is shown first and applied
        only when confirmed; one that would block or quarantine devices needs the box ticked too."""
        data = form.cleaned_data
        transitions = selectors.what_if(connector, rules=data["rules"], default_level=data["default_access_level"])
        if not transitions:
            return False
        restrictive = [t for t in transitions if t.restrictive]
        query = self.request.POST.copy()
        for key in ("csrfmiddlewaretoken", "confirmed", "acknowledge"):
            query.pop(key, None)
        self.preview = {"transitions": transitions, "restrictive": sum(t.count for t in restrictive),
                        "list_url": reverse("policies:connector_access_preview", args=[connector.pk]) + "?" + query.urlencode()}
        if self.request.POST.get("confirmed") and (not restrictive or self.request.POST.get("acknowledge")):
            return False
        if self.request.POST.get("confirmed"):
            form.add_error(None, _("Tick the box to confirm that these devices will be blocked or quarantined."))
        return True

    def perform_save(self, connector, form):
        services.access_settings_save(connector=connector, user=self.request.user, address=self.address, **form.service_kwargs())


class ConnectorAccessPreviewView(ConnectorPolicyView):
    """The devices a proposed access change (the Access Rules form, in the query string) would change."""

    template_name = "policies/access_preview.html"
    tab = "access_rules"

    @property
    def tab_title(self):
        return _("Access Rules")

    def get(self, request, *args, **kwargs):
        connector = self.get_connector()
        form = AccessSettingsForm(request.GET, initial=access_initial(connector), user=request.user)
        transitions = []
        if form.is_valid():
            transitions = selectors.what_if(connector, rules=form.cleaned_data["rules"],
                                            default_level=form.cleaned_data["default_access_level"])
        after = {pk: t.after for t in transitions for pk in t.device_ids}
        devices = devices_for(request.user).filter(pk__in=list(after)).only(
            "pk", "name", "user_display_name", "device_type", "device_model", "device_os", "access_state").order_by("name")[:1000]
        context = self.get_context_data(
            connector=connector, form=form, transitions=transitions, tab=self.tab, editable=False,
            rows=[(device, after[device.pk]) for device in devices], total=len(after),
            title=_("Devices this change affects: %(connector)s") % {"connector": connector},
            back_url=reverse("policies:connector_access_rules", args=[connector.pk]))
        return self.render_to_response(context)


class ConnectorPolicyActionView(ConnectorPolicyView):
    """A POST-only button of the Settings and Access Rules tabs (needs ModifyConnectorPolicy)."""

    def get(self, request, *args, **kwargs):
        return HttpResponseNotAllowed(["POST"])

    def post(self, request, *args, **kwargs):
        connector = self.get_connector()
        if not self.may_modify(connector):
            raise PermissionDenied(_("This needs ModifyConnectorPolicy on the connector's site."))
        try:
            text = self.act(connector)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, text)
        target = request.POST.get("next", "")
        if not target.startswith("/") or target.startswith("//"):
            target = reverse("policies:connector_settings", args=[connector.pk])
        return HttpResponseRedirect(target)

    def act(self, connector) -> str:
        raise NotImplementedError


class ConnectorPushView(ConnectorPolicyActionView):
    """"Apply the console's settings again": a push of the console's state."""

    def act(self, connector):
        pushed = push.push_request(connector=connector, user=self.request.user, address=self.address,
                                   reason=_("Apply the console's settings again"))
        if pushed is None:
            raise ValidationError(_("The connector is not installed yet; its installation pushes the settings."))
        return _("Push %(pk)s queued: Exchange gets the console's settings.") % {"pk": pushed.pk}


class ConnectorTakeExchangeView(ConnectorPolicyActionView):
    """"Take Exchange's values into the console": the drifted settings become the console's."""

    def act(self, connector):
        count = services.take_exchange_values(connector=connector, user=self.request.user, address=self.address)
        return _("Took %(count)s value(s) from Exchange into the console.") % {"count": count}


class ConnectorAdoptRuleView(ConnectorPolicyActionView):
    """Adopt an access rule made in Exchange: the console owns it from now on."""

    def act(self, connector):
        rule = services.access_rule_adopt(connector=connector, user=self.request.user, address=self.address,
                                          identity=self.request.POST.get("identity", ""))
        return _("The console now manages the access rule %(rule)s.") % {"rule": rule.identity}
