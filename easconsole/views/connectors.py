"""Administration ▸ Hierarchy Configuration ▸ Exchange Server Connectors: list, wizard, properties, progress."""
from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from formtools.wizard.views import SessionWizardView

from easconsole import extensions, tables
from easconsole.exchange import certificates
from easconsole.forms.connectors import AccountForm, DiscoveryForm, GeneralForm, SummaryForm
from easconsole.forms.online import OnlineAccountForm
from easconsole.generic import Action, ConsoleView, ObjectDeleteView, ObjectDetailView, ObjectListView, ObjectView
from easconsole.models import ExchangeConnector
from easconsole.permissions import has_perm
from easconsole.selectors import connectors_for
from easconsole.services import connectors as services


CONNECTOR_ACTIONS = (
    Action(_("Add Exchange Server"), "easconsole:exchangeconnector_add", "easconsole.modify_site", "primary"),
)
OBJECT_ACTIONS = (
    Action(_("Properties"), "easconsole:exchangeconnector_edit", "easconsole.modify_site", needs_object=True),
    Action(_("Retry installation now"), "easconsole:exchangeconnector_install", "easconsole.modify_site", needs_object=True),
)
DELETE_ACTION = Action(_("Delete"), "easconsole:exchangeconnector_delete", "easconsole.modify_site", "outline-danger",
                       needs_object=True)


class ConnectorMixin:
    """Connector pages check the site permissions on the connector's site."""

    queryset = ExchangeConnector.objects.select_related("site").prefetch_related("servers")

    def get_object(self):
        self.check_permission()
        connector = get_object_or_404(self.queryset, pk=self.kwargs["pk"])
        if not has_perm(self.request.user, self.permission_required, connector.site):
            # Someone who may see the connector is told no; for anyone else it does not exist.
            if has_perm(self.request.user, "easconsole.read_site", connector.site):
                raise PermissionDenied
            raise Http404
        return connector

    def permission_object(self, obj):
        return obj.site


class ExchangeConnectorListView(ObjectListView):
    queryset = ExchangeConnector.objects.select_related("site")
    table = tables.ExchangeConnectorTable
    permission_required = "easconsole.read_site"
    object_permission = False
    actions = CONNECTOR_ACTIONS
    template_name = "easconsole/connector_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_check"] = has_perm(self.request.user, "easconsole.modify_site")
        if not context["can_check"] and context.get("table") is not None:
            context["table"].columns.hide("select")  # the ticks only serve Check connection now
        return context

    def get_queryset(self):
        return connectors_for(self.request.user, self.permission_required)


class ExchangeConnectorDetailView(ConnectorMixin, ObjectDetailView):
    permission_required = "easconsole.read_site"
    template_name = "easconsole/connector_detail.html"

    @property
    def actions(self):
        return (*OBJECT_ACTIONS, *extensions.connector_actions, DELETE_ACTION)

    def permitted_actions(self, obj=None):
        # "Retry installation now" only where an installation failed.
        install = reverse("easconsole:exchangeconnector_install", args=[obj.pk]) if obj is not None else None
        buttons = super().permitted_actions(obj)
        if obj is None or obj.state in (ExchangeConnector.State.FAILED, ExchangeConnector.State.AUTH_FAILED):
            return buttons
        return [b for b in buttons if b["url"] != install]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        connector = kwargs.get("object")
        if connector is not None:
            context["can_check"] = has_perm(self.request.user, "easconsole.modify_site", connector.site)
            context["password_in_clear"] = services.sends_password_in_clear(connector)
        return context

    def get_sections(self, obj):
        return [
            (_("General"), [(_("Name"), obj.name), (_("Environment"), obj.get_environment_display()), (_("Site"), obj.site),
                            (_("Tenant"), obj.online_tenant) if obj.is_online else
                            (_("Client Access Servers"), ", ".join(str(s) for s in obj.servers.all()))]),
            (_("Status"), [(_("State"), obj.get_state_display()), (_("Status"), obj.state_message),
                           (_("Exchange organization"), obj.organization_name), (_("Server in use"), obj.server_in_use),
                           (_("AD site in use"), obj.ad_site_in_use), (_("Installed"), obj.installed_at),
                           (_("Next installation attempt"), obj.next_retry_at)]),
            online_account(obj) if obj.is_online else
            (_("Account"), [(_("Authentication"), obj.get_authentication_display()), (_("Connection account"), obj.username),
                            (_("Password"), _("stored, encrypted") if obj.password_encrypted else _("none")),
                            *([(_("Kerberos realm"), obj.kerberos_realm or _("from the account")),
                               (_("KDC"), obj.kerberos_kdc or _("found through DNS"))]
                              if obj.authentication == ExchangeConnector.Authentication.KERBEROS else []),
                            (_("Port"), obj.port), (_("HTTPS"), obj.use_tls), (_("Validate certificate"), obj.verify_tls),
                            (_("Trusted CAs"), certificates.describe_bundle(obj.ca_bundle) or _("the system's CA store")),
                            (_("Notification account"), obj.notification_account)]),
            (_("Discovery"), [(_("Full discovery"), _("every %(d)s day(s) at %(t)s") % {"d": obj.full_discovery_days, "t": obj.full_discovery_time}),
                              (_("Delta discovery"), _("every %(m)s minutes") % {"m": obj.delta_interval_minutes}),
                              (_("Search"), _("all recipients") if obj.all_recipients else obj.ad_containers),
                              (_("Ignore devices inactive for more than"), _("%(n)s days") % {"n": obj.ignore_inactive_days}),
                              (_("Concurrent Exchange sessions"), obj.max_concurrency)]),
            *extensions.sections_for(obj, self.request.user),
        ]


def online_account(obj):
    """An Exchange Online connector's Account section: the application, never its certificate or secret."""
    kind = _("certificate or secret, stored encrypted") if obj.password_encrypted else _("none")
    return (_("Application"), [(_("Tenant"), obj.online_tenant), (_("Application (client) ID"), obj.username),
                               (_("Credential"), kind),
                               (_("REST endpoint"), obj.online_endpoint or _("Microsoft 365 (worldwide)")),
                               (_("Sign-in authority"), obj.online_authority or _("Microsoft 365 (worldwide)")),
                               (_("Notification account"), obj.notification_account)])


class ExchangeConnectorProgressView(ConnectorMixin, ObjectView):
    """The wizard's Progress and Completion pages: the installation as it runs (htmx polls this)."""

    permission_required = "easconsole.read_site"
    template_name = "easconsole/connector_progress.html"

    def get(self, request, *args, **kwargs):
        connector = self.get_object()
        if request.headers.get("HX-Request"):
            self.template_name = "easconsole/_connector_progress_steps.html"
        done = connector.state in (ExchangeConnector.State.INSTALLED, ExchangeConnector.State.FAILED, ExchangeConnector.State.AUTH_FAILED)
        return self.render_to_response(self.get_context_data(
            object=connector, title=_("Add Exchange Server"),
            done=done, status_messages=connector.status_messages.all()[:5],
        ))


class ExchangeConnectorInstallView(ConnectorMixin, ObjectView):
    """Retry the installation now instead of waiting for the next hourly attempt."""

    permission_required = "easconsole.modify_site"
    template_name = "easconsole/connector_install.html"

    def get(self, request, *args, **kwargs):
        connector = self.get_object()
        return self.render_to_response(self.get_context_data(
            object=connector, title=_("Retry installation: %(name)s") % {"name": connector.name}))

    def post(self, request, *args, **kwargs):
        connector = self.get_object()
        services.connector_reinstall(connector=connector, user=request.user, address=self.address)
        return HttpResponseRedirect(reverse("easconsole:exchangeconnector_progress", args=[connector.pk]))


class ExchangeConnectorCheckView(ConsoleView):
    """Check connection now (POST): the preflight with the stored password, for one connector or the ticked ones.

    It runs in the request, as the wizard's Test connection does: the administrator waits for the
    answer, which is one sign-in and one Get-Command against a healthy server (under a second), and
    it must answer even when no worker runs, the very time one wants to check. The gateway's
    timeouts bound a server that does not answer (5 s to connect, 25 s to read).
    """

    permission_required = "easconsole.modify_site"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        self.check_permission()
        ids = [int(value) for value in request.POST.getlist("connector") if value.isdigit()]
        chosen = list(ExchangeConnector.objects.select_related("site").filter(pk__in=ids))
        if not chosen:
            messages.error(request, _("Tick the connectors to check first."))
            return HttpResponseRedirect(reverse("easconsole:exchangeconnector_list"))
        for connector in chosen:
            if not has_perm(request.user, self.permission_required, connector.site):
                raise PermissionDenied if has_perm(request.user, "easconsole.read_site", connector.site) else Http404
        for connector in chosen:
            result = services.connector_check(connector=connector, user=request.user, address=self.address)
            level = messages.success if result.ok else messages.error
            level(request, _("%(name)s: %(message)s") % {"name": connector.name, "message": result.message})
        back = request.POST.get("next", "")
        if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            return HttpResponseRedirect(back)  # the list the ticks came from
        return HttpResponseRedirect(chosen[0].get_absolute_url() if len(chosen) == 1 else reverse("easconsole:exchangeconnector_list"))


class ExchangeConnectorDeleteView(ConnectorMixin, ObjectDeleteView):
    permission_required = "easconsole.modify_site"
    consequence = _("Its discovery schedules and installation retries stop. Devices it discovered stay until they are purged.")

    def perform_delete(self, obj):
        services.connector_delete(connector=obj, user=self.request.user, address=self.address)


def wizard_steps() -> list[tuple[str, type, str]]:
    """The wizard's pages: General, Account, Discovery, the apps' pages (Settings, Access Rules), Summary."""
    return [("general", GeneralForm, _("General")), ("account", AccountForm, _("Account")),
            ("discovery", DiscoveryForm, _("Discovery")),
            *((step.name, step.form, step.label) for step in extensions.wizard_steps),
            ("summary", SummaryForm, _("Summary"))]


class ExchangeConnectorWizard(ConsoleView, SessionWizardView):
    """Add Exchange Server: General, Account, Discovery, Settings, Access Rules, Summary, then Progress."""

    template_name = "easconsole/connector_wizard.html"
    permission_required = "easconsole.modify_site"

    @classmethod
    def as_view(cls, **initkwargs):
        return super().as_view(form_list=[(name, form) for name, form, _label in wizard_steps()], **initkwargs)

    def get(self, request, *args, **kwargs):
        self.check_permission()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.check_permission()
        if "test_connection" in request.POST and self.steps.current in ("account", "summary"):
            form = self.get_form(data=request.POST) if self.steps.current == "account" else None
            if form is None or form.is_valid():
                if form is not None:
                    # Keep what was typed (the password only encrypted) and show it again with the result.
                    self.storage.set_step_data("account", self.process_step(form))
                form = self.get_form(data=self.storage.get_step_data(self.steps.current))
                return self.render(form, test=self.run_test())
            return self.render(form)
        return super().post(request, *args, **kwargs)

    def get_form_kwargs(self, step=None):
        return {"user": self.request.user}

    def get_form_list(self):
        """The Account page asks for what the chosen environment needs: an account, or an application."""
        form_list = super().get_form_list()
        general = self.storage.get_step_data("general") or {}
        if general.get("general-environment") == ExchangeConnector.Environment.ONLINE:
            form_list["account"] = OnlineAccountForm
        return form_list

    def process_step(self, form):
        if isinstance(form, (AccountForm, OnlineAccountForm)):
            return form.session_data()  # the session keeps the password encrypted only
        return super().process_step(form)

    def collected(self):
        """The connector and its servers and password as the wizard's pages so far describe them."""
        connector = ExchangeConnector()
        servers, password = [], None
        for step in ("general", "account", "discovery"):
            data = self.get_cleaned_data_for_step(step) or {}
            for name, value in data.items():
                if name in {f.name for f in ExchangeConnector._meta.concrete_fields}:
                    setattr(connector, name, value)
            servers = data.get("server_pairs", servers)
            password = data.get("password", password)
        return connector, servers, password

    def fingerprint(self) -> str:
        """Identifies exactly the settings a connection test was run with (the password only through an HMAC)."""
        connector, servers, password = self.collected()
        fields = [getattr(connector, name) for name in sorted(services.CONNECTION_FIELDS)]
        payload = json.dumps([fields, servers, connector.notification_account, password or ""], default=str)
        return salted_hmac("easconsole.wizard.connection-test", payload).hexdigest()

    def run_test(self):
        """Test the connection now and remember the outcome for exactly these settings."""
        connector, servers, password = self.collected()
        try:
            settings = services.connection_settings(connector, servers, password or "")
        except ValueError as error:
            result = services.TestResult(ok=False, message=str(error), error_kind="configuration")
        else:
            result = services.connection_test(settings, notification_account=connector.notification_account)
        # Not under the name "test": formtools puts the storage's extra data into every page's context.
        self.storage.extra_data = {**self.storage.extra_data, "last_test": {"fingerprint": self.fingerprint(), **result.as_dict()}}
        return result

    def last_test(self):
        """The outcome of the last test, if it was run with exactly the settings the pages now hold.

        The Summary page and Finish use it instead of signing in again: a wrong password is not
        tried once more on every page view, which would bring an Active Directory lockout closer.
        """
        stored = self.storage.extra_data.get("last_test")
        if not stored or stored.get("fingerprint") != self.fingerprint():
            return None
        return services.TestResult(**{k: v for k, v in stored.items() if k != "fingerprint"})

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form=form, **kwargs)
        context["title"] = _("Add Exchange Server")
        context["step_labels"] = [(name, label) for name, _form, label in wizard_steps()] + [("progress", _("Progress")), ("completion", _("Completion"))]
        if self.steps.current == "summary":
            connector, servers, _password = self.collected()
            context["summary"] = self.summary()
            context["password_in_clear"] = services.sends_password_in_clear(connector, servers)
            if "test" not in context:
                context["test"] = self.last_test() or self.run_test()
        return context

    def summary(self):
        connector, servers, _password = self.collected()
        rows = [(_("Name"), connector.name), (_("Environment"), connector.get_environment_display()), (_("Site"), connector.site if connector.site_id else ""),
                (_("Client Access Servers"), ", ".join(f"{s}: {h}" for s, h in servers) or connector.online_tenant),
                (_("Authentication"), connector.get_authentication_display()), (_("Connection account"), connector.username),
                (_("HTTPS"), _("yes, port %(port)s") % {"port": connector.port} if connector.use_tls else _("no, port %(port)s") % {"port": connector.port}),
                (_("Notification account"), connector.notification_account),
                (_("Full discovery"), _("every %(d)s day(s) at %(t)s") % {"d": connector.full_discovery_days, "t": connector.full_discovery_time}),
                (_("Delta discovery"), _("every %(m)s minutes") % {"m": connector.delta_interval_minutes})]
        if connector.is_online:  # an application signs in: no account, port or HTTPS choice
            rows[3:6] = [(_("Tenant"), connector.online_tenant), (_("Application (client) ID"), connector.username),
                         (_("REST endpoint"), connector.online_endpoint or _("Microsoft 365 (worldwide)"))]
        return rows

    def render_done(self, form, **kwargs):
        """Finish saves the connector only after a successful connection test of exactly these settings,
        or when the administrator ticked "Save without a successful connection test"."""
        test = self.last_test() or self.run_test()
        self.unverified = False
        if test.duplicate_of:
            messages.error(self.request, test.message)
            self.storage.reset()
            return HttpResponseRedirect(reverse("easconsole:exchangeconnector_list"))
        if not test.ok:
            if not form.cleaned_data.get("save_unverified"):
                return self.render(form, test=test, refused=True)
            self.unverified = True
        return super().render_done(form, **kwargs)

    def done(self, form_list, form_dict=None, **kwargs):
        connector, servers, password = self.collected()
        connector = services.connector_add(
            connector=connector, servers=servers, password=password or "", user=self.request.user, address=self.address,
            steps={step.name: form_dict[step.name].service_kwargs() for step in extensions.wizard_steps},
            unverified=self.unverified,
        )
        return HttpResponseRedirect(reverse("easconsole:exchangeconnector_progress", args=[connector.pk]))


class ExchangeConnectorEditView(ConnectorMixin, ObjectView):
    """Properties: the wizard's General, Account and Discovery pages on one page (Settings and Access Rules are tabs)."""

    permission_required = "easconsole.modify_site"
    template_name = "easconsole/connector_edit.html"
    forms = (("general", GeneralForm), ("account", AccountForm), ("discovery", DiscoveryForm))

    def build_forms(self, connector):
        data = self.request.POST if self.request.method == "POST" else None
        environment = (data or {}).get("general-environment", connector.environment)
        chosen = dict(self.forms)
        if environment == ExchangeConnector.Environment.ONLINE:
            chosen["account"] = OnlineAccountForm  # an application, not an account
        return {name: form(data, instance=connector, prefix=name, user=self.request.user) for name, form in chosen.items()}

    def render_forms(self, connector, forms):
        return self.render_to_response(self.get_context_data(
            object=connector, forms=forms.values(), title=_("Properties: %(name)s") % {"name": connector.name}, tab="general"))

    def get(self, request, *args, **kwargs):
        connector = self.get_object()
        return self.render_forms(connector, self.build_forms(connector))

    def post(self, request, *args, **kwargs):
        connector = self.get_object()
        forms = self.build_forms(connector)
        if all(form.is_valid() for form in forms.values()):
            services.connector_save(
                connector=connector, servers=forms["general"].cleaned_data["server_pairs"], user=request.user,
                password=forms["account"].cleaned_data["password"], address=self.address,
            )
            messages.success(request, _("Saved %(name)s.") % {"name": connector.name})
            return HttpResponseRedirect(connector.get_absolute_url())
        return self.render_forms(connector, forms)
