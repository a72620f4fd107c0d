"""Monitoring: Component Status, Status Messages, the component logs."""
from django.http import FileResponse, Http404
from django.utils.translation import gettext_lazy as _

from easconsole import filtersets, logs, tables
from easconsole.generic import ConsoleView, ObjectDetailView, ObjectListView
from easconsole.models import ExchangeConnector, Site, StatusMessage
from easconsole.permissions import objects_for


class ComponentStatusView(ObjectListView):
    queryset = ExchangeConnector.objects.select_related("site")
    table = tables.ComponentStatusTable
    permission_required = "easconsole.read_site"
    object_permission = False
    title = _("Component Status")

    def get_queryset(self):
        return self.queryset.filter(site__in=objects_for(self.request.user, "easconsole.read_site", Site.objects.all()))


class StatusMessageListView(ObjectListView):
    queryset = StatusMessage.objects.select_related("site", "connector")
    table = tables.StatusMessageTable
    filterset = filtersets.StatusMessageFilterSet
    permission_required = "easconsole.read_site"
    object_permission = False

    def get_queryset(self):
        return self.queryset.filter(site__in=objects_for(self.request.user, "easconsole.read_site", Site.objects.all()))


class StatusMessageDetailView(ObjectDetailView):
    queryset = StatusMessage.objects.select_related("site", "connector")
    permission_required = "easconsole.read_site"

    def get_object(self):
        message = super().get_object()
        if message.site is not None and not objects_for(self.request.user, self.permission_required, Site.objects.filter(pk=message.site_id)).exists():
            raise Http404
        return message


class LogView(ConsoleView):
    """A CMTrace-like viewer of EasDisc.log and SiteComp.log: filter by severity and text, follow, download."""

    template_name = "easconsole/log_viewer.html"
    permission_required = "easconsole.read_site"

    def get(self, request, *args, **kwargs):
        self.check_permission()
        name = request.GET.get("log", "EasDisc.log")
        if name not in logs.LOGS:
            raise Http404
        if request.GET.get("download"):
            path = logs.log_dir() / name
            if not path.exists():
                raise Http404
            return FileResponse(open(path, "rb"), as_attachment=True, filename=name, content_type="text/plain")
        try:
            severity = int(request.GET.get("severity", "1"))
        except ValueError:
            severity = 1
        text = request.GET.get("text", "")
        lines = logs.tail(name, min_severity=severity, text=text)
        template = "easconsole/_log_lines.html" if request.headers.get("HX-Request") else self.template_name
        self.template_name = template
        return self.render_to_response(self.get_context_data(
            title=_("Logs"), log=name, logs=list(logs.LOGS), lines=lines, severity=severity, text=text,
            severities=[(1, _("All")), (2, _("Warnings and errors")), (3, _("Errors"))],
        ))
