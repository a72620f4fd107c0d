"""Reports (auditors) and Monitoring views of the Administration app."""
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from django_q.models import Task

from easconsole import auditwords, extensions, filtersets, tables
from easconsole.generic import ConsoleView, ObjectDetailView, ObjectListView
from easconsole.models import AuditEvent, RoleAssignment, Site


class ReportIndexView(ConsoleView):
    """Reports ▸ Overview: what the auditor can read, with counts."""

    template_name = "easconsole/report_index.html"
    permission_required = "easconsole.view_auditevent"

    def get(self, request, *args, **kwargs):
        self.check_permission()
        outcomes = dict(AuditEvent.objects.values_list("outcome").annotate(n=Count("pk")))
        context = self.get_context_data(
            title=_("Reports"),
            figures=[
                (_("Sites"), Site.objects.count()),
                (_("Administrative users"), RoleAssignment.objects.count()),
                (_("Audit events"), sum(outcomes.values())),
                (_("Refused or failed actions"), outcomes.get("denied", 0) + outcomes.get("failure", 0)),
            ],
        )
        for figures in extensions.report_figures:
            context["figures"] += figures(request.user)
        return self.render_to_response(context)


class AuditEventListView(ObjectListView):
    queryset = AuditEvent.objects.all()
    table = tables.AuditEventTable
    filterset = filtersets.AuditEventFilterSet
    permission_required = "easconsole.view_auditevent"
    object_permission = False


class AuditEventDetailView(ObjectDetailView):
    queryset = AuditEvent.objects.all()
    permission_required = "easconsole.view_auditevent"

    def get_sections(self, obj):
        return [
            (_("Who and when"), [(_("Time"), obj.time), (_("User"), obj.username), (_("Roles"), obj.roles), (_("From address"), obj.address)]),
            (_("What"), [(_("What happened"), auditwords.sentence(obj.action, obj.object_type, obj.object_repr, obj.outcome, obj.changes)),
                         (_("Action"), obj.action), (_("Object type"), obj.object_type), (_("Object"), obj.object_repr),
                         (_("Outcome"), obj.get_outcome_display()), (_("Message"), obj.message),
                         (_("Changes"), auditwords.data_table(obj.changes))]),
            (_("Exchange"), [(_("Cmdlet"), obj.cmdlet), (_("Parameters"), auditwords.data_table(obj.parameters)),
                             (_("Exchange's answer"), obj.exchange_answer)]),
        ]


class TaskListView(ObjectListView):
    """Monitoring ▸ Background tasks: what the django-q2 workers ran, newest first."""

    queryset = Task.objects.order_by("-started")
    table = tables.TaskTable
    title = _("Background tasks")
    permission_required = "easconsole.read_site"
    object_permission = False
