"""Assets and Compliance ▸ Devices: the list (with a column chooser and a streamed CSV export) and details."""
from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django_tables2 import RequestConfig

from devices.actions import rules as action_rules
from devices.actions import services as action_services
from devices.filtersets import DeviceFilterSet
from devices.models import CollectionMember, Device, DeviceAction, UserDeviceAffinity
from devices.paginators import DeferredJoinPaginator
from devices.selectors import collections_for, devices_for
from devices.tables import DeviceTable, export_rows
from devices.views.sections import device_sections
from easconsole.csv_export import streamed_csv
from easconsole.generic import ConsoleView, ObjectDetailView, ObjectListView
from easconsole.models import AuditEvent
from easconsole.permissions import has_perm, holds_anywhere

COLUMNS_SESSION_KEY = "columns:devices.device"


class DeviceListView(ObjectListView):
    queryset = Device.objects.all()
    table = DeviceTable
    filterset = DeviceFilterSet
    permission_required = "devices.read_collection"
    template_name = "devices/device_list.html"
    title = _("Devices")
    object_permission = False  # narrowed by collection membership in get_queryset

    def get_queryset(self):
        # Only the chosen columns are loaded (a device row has some sixty fields).
        columns = self.columns
        queryset = self.queryset.only(*DeviceTable.only_fields(columns))
        if "connector" in columns:
            queryset = queryset.select_related("connector")
        return devices_for(self.request.user, self.permission_required, queryset)

    @property
    def columns(self) -> list[str]:
        return DeviceTable.clean_columns(self.request.session.get(COLUMNS_SESSION_KEY))

    def get(self, request, *args, **kwargs):
        self.check_permission()
        self.filter = self.filterset(request.GET, queryset=self.get_queryset(), request=request)
        queryset = self.filter.qs if self.filter.is_valid() else self.filter.queryset.none()
        table = self.table(queryset, columns=self.columns)  # configured once, below (a request here would page it twice)
        if request.GET.get("export") == "csv":
            return self.export_csv(table)
        RequestConfig(request, paginate={"per_page": self.per_page, "paginator_class": DeferredJoinPaginator}).configure(table)
        context = self.get_context_data(table=table, filter=self.filter, actions=self.permitted_actions(),
                                        column_choices=DeviceTable.column_choices(), chosen_columns=table.chosen_columns,
                                        bulk_actions=self.bulk_actions(), filter_query=self.filter_query())
        return self.render_to_response(context)

    def permitted_actions(self, obj=None):
        """A user's devices (the header search's Users link here) offer to offboard that user."""
        buttons = super().permitted_actions(obj)
        q = self.request.GET.get("q", "").strip()
        if q and holds_anywhere(self.request.user, action_rules.PERMISSION[DeviceAction.Kind.WIPE]):
            buttons.append({"label": _("Offboard a user"), "style": "outline-danger",
                            "url": reverse("devices:offboarding_add") + "?" + urlencode({"q": q})})
        return buttons

    def bulk_actions(self) -> list[tuple[str, str]]:
        """The actions the user may hold on some collection, for the ticked devices (delete goes one at a time)."""
        return [(kind, kind.label) for kind in DeviceAction.Kind if kind != DeviceAction.Kind.DELETE
                and holds_anywhere(self.request.user, action_rules.PERMISSION[kind])]

    def filter_query(self) -> str:
        """The list's filter as a query string, for acting on every device it matches (not only those on the page)."""
        query = self.request.GET.copy()
        for name in ("page", "sort", "export", "pane"):
            query.pop(name, None)
        return query.urlencode()

    def export_csv(self, table) -> StreamingHttpResponse:
        """The filtered, sorted list with the chosen columns, streamed: 100,000 devices never sit in memory at once."""
        table.order_by = self.request.GET.get("sort")
        return streamed_csv(export_rows(table, table.data.data), "devices.csv")


class DeviceColumnsView(ConsoleView):
    """The column chooser of the device list: remembers the chosen columns for the session."""

    permission_required = "devices.read_collection"

    def back(self):
        target = self.request.POST.get("next") or self.request.GET.get("next") or ""
        if not target.startswith(reverse("devices:device_list")) or not url_has_allowed_host_and_scheme(
                target, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()):
            target = reverse("devices:device_list")
        return HttpResponseRedirect(target)

    def get(self, request, *args, **kwargs):
        self.check_permission()
        return self.back()

    def post(self, request, *args, **kwargs):
        self.check_permission()
        if request.POST.get("reset"):
            request.session.pop(COLUMNS_SESSION_KEY, None)
        else:
            request.session[COLUMNS_SESSION_KEY] = DeviceTable.clean_columns(request.POST.getlist("columns"))
        return self.back()


class DeviceDetailView(ObjectDetailView):
    queryset = Device.objects.select_related("connector__site")
    permission_required = "devices.read_collection"
    template_name = "devices/device_detail.html"

    def get_object(self) -> Device:
        """404 for a device outside every collection the user may read, as if it did not exist."""
        self.check_permission()
        return get_object_or_404(devices_for(self.request.user, self.permission_required, self.queryset), pk=self.kwargs["pk"])

    def get_sections(self, obj):
        return device_sections(obj)

    def permitted_actions(self, obj=None):
        """Wipe, account-only wipe, cancel wipe, allow, block, delete (each enabled or disabled with
        the reason), then Edit Primary Users."""
        if obj is None:
            return []
        offered = action_services.offered_actions(self.request.user, obj)
        buttons = [{"label": a["label"], "reason": a["reason"] or self.already(obj, a["kind"]),
                    "style": "outline-danger" if a["kind"] in (DeviceAction.Kind.WIPE, DeviceAction.Kind.DELETE) else "outline-primary",
                    "url": reverse("devices:device_action", args=[obj.pk, a["kind"]])}
                   for a in offered]
        if buttons:  # anyone who may act on the device may edit its primary users
            buttons.append({"label": _("Edit Primary Users"), "style": "outline-secondary", "reason": None,
                            "url": reverse("devices:device_affinity", args=[obj.pk])})
        if any(a["kind"] == DeviceAction.Kind.WIPE for a in offered) and obj.connector_id:  # the offboarding playbook
            buttons.append({"label": _("Offboard this user"), "style": "outline-danger", "reason": None,
                            "url": reverse("devices:offboarding_add") + "?" + urlencode({"connector": obj.connector_id,
                                                                                         "mailbox": obj.mailbox})})
        return buttons

    @staticmethod
    def already(device: Device, kind: str) -> str | None:
        """Allow on a device Exchange already allows (Block on a blocked one) would change nothing a person sees: say so."""
        if kind == DeviceAction.Kind.ALLOW and device.access_state == "Allowed":
            return _("Exchange already allows this device.")
        if kind == DeviceAction.Kind.BLOCK and device.access_state == "Blocked":
            return _("Exchange already blocks this device.")
        return None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["list_title"] = DeviceListView.title
        device = kwargs.get("object")
        if device is not None and not self.request.GET.get("pane"):
            context["affinities"] = UserDeviceAffinity.objects.filter(device=device).select_related("user").order_by("user__username")
            context["memberships"] = (CollectionMember.objects.filter(device=device, collection__in=collections_for(self.request.user))
                                      .select_related("collection").order_by("-collection__is_builtin", "collection__name"))
            context["history"] = DeviceAction.objects.filter(device=device).order_by("-requested_at", "-pk")[:25]
            if has_perm(self.request.user, "easconsole.view_auditevent"):
                context["audit_events"] = AuditEvent.objects.filter(object_type="mobile device", object_id=str(device.pk))[:25]
        return context
