"""How the policies app reacts to the project's announcements (``easconsole.extensions``)."""
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from easconsole.models import ExchangeConnector
from policies import catalog, push, services


def push_after_install(sender, connector, **kwargs) -> None:
    """A connector just installed gets the settings the wizard saved."""
    connector = ExchangeConnector.objects.select_related("site").get(pk=connector.pk)  # the installed state, as saved
    if services.connector_policy(connector).pk is not None:
        push.push_request(connector=connector, user=None, reason=_("Connector installed"))


def connector_section(connector, user):
    """The connector page's "Settings in Exchange" section: the last push and whether Exchange drifted."""
    policy = services.connector_policy(connector)
    last = connector.policy_pushes.first()
    url = reverse("policies:connector_settings", args=[connector.pk])
    if policy.drift:
        state = format_html('<span class="badge text-bg-warning" data-testid="drifted">{}</span> <a href="{}">{}</a>',
                            _("Drifted"), url, _("%(n)s setting(s) differ") % {"n": len(policy.drift)})
    elif policy.drift_checked_at:
        state = _("Matches the console (compared %(when)s UTC)") % {"when": f"{policy.drift_checked_at:%Y-%m-%d %H:%M}"}
    else:
        state = _("Not compared yet")
    rows = [(_("Exchange"), state)]
    if last is not None:
        rows.append((_("Last push"), f"{last.get_state_display()} — {last.requested_at:%Y-%m-%d %H:%M} UTC"))
        if last.error:
            rows.append((_("Exchange's answer"), last.error))
    rows.append((_("Managed groups"), ", ".join(str(catalog.GROUPS[g]) for g in services.managed_groups(policy)) or _("none")))
    return (_("Settings in Exchange"), rows)


def compare_after_discovery(sender, connector, exchange, **kwargs) -> None:
    """Every full discovery reads back the connector's settings and access rules: drift."""
    push.drift_check(connector, exchange)
