"""The header's search: a user name, display name, UPN, device name, Device ID or IMEI finds the devices
(and their users) at once. htmx asks for the short list as one types; without script the form opens
the same results as a page. Only devices the person may read are searched."""
from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from devices.filtersets import DeviceFilterSet
from devices.models import Device
from devices.selectors import devices_for
from easconsole.generic import ConsoleView

USER_FIELDS = ("user_display_name", "user_principal_name", "mailbox")
SHOWN = 8
MIN_LENGTH = 2


def matching(queryset, text: str, fields) -> Q:
    query = Q()
    for field in fields:
        query |= Q(**{f"{field}__icontains": text})
    return queryset.filter(query)


def search(user, text: str) -> dict:
    """The devices and users matching ``text`` that ``user`` may read: the first few, and how many devices in all."""
    text = text.strip()
    if len(text) < MIN_LENGTH:
        return {"devices": [], "users": [], "count": 0}
    readable = devices_for(user, "devices.read_collection", Device.objects.all())
    devices = matching(readable, text, DeviceFilterSet.search_fields)
    found = list(devices.only("pk", "name", "device_id", "user_display_name", "device_model", "access_state", "status")
                 .order_by("name", "device_id")[:SHOWN + 1])
    users = list(matching(readable, text, USER_FIELDS).order_by("user_display_name", "user_principal_name")
                 .values_list("user_display_name", "user_principal_name").distinct()[:5])
    count = len(found) if len(found) <= SHOWN else devices.count()
    return {"devices": found[:SHOWN], "users": users, "count": count}


class DeviceSearchView(ConsoleView):
    permission_required = "devices.read_collection"

    def get(self, request, *args, **kwargs):
        self.check_permission()
        text = request.GET.get("q", "").strip()[:200]
        partial = bool(request.headers.get("HX-Request"))
        self.template_name = "devices/_search_results.html" if partial else "devices/search.html"
        return self.render_to_response(self.get_context_data(title=_("Search"), q=text, min_length=MIN_LENGTH,
                                                             **search(request.user, text)))
