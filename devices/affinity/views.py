"""Device ▸ Edit Primary Users, and Assets and Compliance ▸ User Device Affinity ▸ Import User Device Affinity."""
from __future__ import annotations

import datetime as dt
import secrets

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from devices.affinity import csv_import, services
from devices.affinity.forms import AffinityImportForm, UserSearchForm
from devices.affinity.selectors import users_matching
from devices.models import Device, UserDeviceAffinity
from devices.selectors import can_act_on, devices_for
from easconsole.generic import ConsoleView

SESSION_KEY = "affinity_import"
PREVIEW_LIFETIME = dt.timedelta(hours=1)
MAX_LISTED = 1000  # rows of each kind listed on the preview page (all are counted)


class DeviceAffinityView(ConsoleView):
    """Edit Primary Users: the device's users with the source of each link; search, add, remove.

    Readers of the device see the page read-only; changing needs Modify resource on a collection
    holding it.
    """

    template_name = "devices/affinity/device_affinity.html"
    permission_required = "devices.read_collection"

    def get_device(self) -> Device:
        self.check_permission()
        return get_object_or_404(devices_for(self.request.user, self.permission_required, Device.objects.select_related("connector")),
                                 pk=self.kwargs["pk"])

    def get(self, request, *args, **kwargs):
        device = self.get_device()
        may_edit = can_act_on(request.user, services.PERMISSION, device)
        search = UserSearchForm(request.GET or None)
        query = search.cleaned_data["q"].strip() if search.is_valid() else ""
        candidates = users_matching(query, device=device) if may_edit and query else []
        affinities = UserDeviceAffinity.objects.filter(device=device).select_related("user").order_by("user__username")
        may_delete = can_act_on(request.user, "devices.delete_resource", device)
        return self.render_to_response(self.get_context_data(
            title=_("Edit Primary Users: %(device)s") % {"device": device.name}, device=device, affinities=affinities,
            may_edit=may_edit, search=search, query=query, candidates=candidates, may_delete=may_delete,
            connector_online=bool(device.connector and device.connector.is_online),
        ))

    def post(self, request, *args, **kwargs):
        device = self.get_device()
        operation = request.POST.get("operation")
        try:
            if operation == "add":
                user_pk = request.POST.get("user", "")
                user = get_user_model().objects.filter(pk=int(user_pk) if user_pk.isdigit() else 0).first()
                if user is None:
                    if not can_act_on(request.user, services.PERMISSION, device):
                        raise PermissionDenied
                    raise ValidationError(_("Choose a user from the search results."))
                services.affinity_add(device=device, user=user, actor=request.user, address=self.address)
                messages.success(request, _("%(user)s is now a primary user of %(device)s.") % {"user": user.get_username(), "device": device.name})
            elif operation == "remove":
                affinity_pk = request.POST.get("affinity", "")
                affinity = UserDeviceAffinity.objects.filter(device=device, pk=int(affinity_pk) if affinity_pk.isdigit() else 0).select_related(
                    "user", "device").first()
                if affinity is None:
                    if not can_act_on(request.user, services.PERMISSION, device):
                        raise PermissionDenied
                    raise ValidationError(_("That link no longer exists."))
                services.affinity_remove(affinity=affinity, actor=request.user, address=self.address)
                messages.success(request, _("%(user)s is no longer a primary user of %(device)s.") % {
                    "user": affinity.user.get_username(), "device": device.name})
                if affinity.source == UserDeviceAffinity.Source.AUTOMATIC:
                    messages.warning(request, _("This link was made by discovery: it comes back at the next discovery while Exchange "
                                                "names this user as the device's owner. If the device went to another person, "
                                                "delete the device from the console before the new owner sets up mail on it."))
            else:
                if not can_act_on(request.user, services.PERMISSION, device):
                    raise PermissionDenied
                messages.error(request, _("Nothing to do: choose Add or Remove."))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        target = reverse("devices:device_affinity", args=[device.pk])
        query = request.POST.get("q", "").strip()
        return HttpResponseRedirect(f"{target}?{urlencode({'q': query})}" if query else target)


class AffinityImportView(ConsoleView):
    """Import User Device Affinity: upload a file, read the preview, confirm; nothing is written before the confirmation.

    The preview is kept in the person's session (the resolved links, never the browser's copy), and
    the confirmation imports exactly those links, all or nothing.
    """

    template_name = "devices/affinity/import.html"
    permission_required = "devices.modify_resource"

    def render_upload(self, form):
        return self.render_to_response(self.get_context_data(title=_("Import User Device Affinity"), form=form,
                                                             max_mb=csv_import.MAX_BYTES // (1024 * 1024)))

    def stored(self, token: str | None) -> dict | None:
        data = self.request.session.get(SESSION_KEY)
        if not data or not token or not secrets.compare_digest(str(data.get("token", "")), str(token)):
            return None
        if timezone.now() - dt.datetime.fromisoformat(data["created"]) > PREVIEW_LIFETIME:
            self.request.session.pop(SESSION_KEY, None)
            return None
        return data

    def get(self, request, *args, **kwargs):
        self.check_permission()
        token = request.GET.get("preview")
        if token:
            data = self.stored(token)
            if data is None:
                messages.warning(request, _("That preview is no longer available: upload the file again."))
                return HttpResponseRedirect(reverse("devices:affinity_import"))
            self.template_name = "devices/affinity/import_preview.html"
            return self.render_to_response(self.get_context_data(title=_("Import User Device Affinity: preview"), preview=data))
        return self.render_upload(AffinityImportForm())

    def post(self, request, *args, **kwargs):
        self.check_permission()
        if "confirm" in request.POST or "discard" in request.POST:
            return self.finish(request)
        form = AffinityImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_upload(form)
        upload = form.cleaned_data["file"]
        try:
            preview = csv_import.preview_file(upload, actor=request.user, has_header=form.cleaned_data["has_header"],
                                              file_name=upload.name)
        except csv_import.FileRefused as refused:
            form.add_error("file", str(refused))
            return self.render_upload(form)
        token = secrets.token_urlsafe(16)
        request.session[SESSION_KEY] = session_preview(preview, token)
        return HttpResponseRedirect(f"{reverse('devices:affinity_import')}?{urlencode({'preview': token})}")

    def finish(self, request):
        data = self.stored(request.POST.get("token"))
        if data is None:
            messages.warning(request, _("That preview is no longer available: upload the file again."))
            return HttpResponseRedirect(reverse("devices:affinity_import"))
        if "discard" in request.POST:
            request.session.pop(SESSION_KEY, None)
            messages.info(request, _("Nothing was imported."))
            return HttpResponseRedirect(reverse("devices:affinity_import"))
        try:
            result = services.affinity_import(rows=data["links"], actor=request.user, address=self.address, file_name=data["file"])
        except services.ImportRefused as refused:
            messages.error(request, str(refused))
            return HttpResponseRedirect(f"{reverse('devices:affinity_import')}?{urlencode({'preview': data['token']})}")
        request.session.pop(SESSION_KEY, None)
        messages.success(request, _("Imported %(added)d user device affinities from %(file)s.") % {"added": result.added, "file": data["file"]})
        if result.dropped:
            shown = "; ".join(str(row) for row in result.dropped[:services.NAMED_AT_MOST])
            more = len(result.dropped) - services.NAMED_AT_MOST
            messages.warning(request, _("%(n)d row(s) of the preview were not imported: %(rows)s%(more)s.") % {
                "n": len(result.dropped), "rows": shown, "more": _(" and %(n)d more") % {"n": more} if more > 0 else ""})
        return HttpResponseRedirect(reverse("devices:affinity_import"))


def session_preview(preview: csv_import.Preview, token: str) -> dict:
    """The preview as the session keeps it: every link to add, and what the page lists (at most MAX_LISTED of each kind)."""
    sources = dict(UserDeviceAffinity.Source.choices)
    return {
        "token": token,
        "created": timezone.now().isoformat(),
        "file": preview.file_name,
        "lines": preview.lines,
        "header": preview.header,
        "header_detected": preview.header_detected,
        "links": [[link.device_pk, link.user_id, link.line] for link in preview.new],
        "new": [[link.line, link.username, link.device_name, link.device_id, link.device_pk] for link in preview.new[:MAX_LISTED]],
        "new_count": len(preview.new),
        "existing": [[link.line, link.username, link.device_name, link.device_id, str(sources.get(link.source, link.source))]
                     for link in preview.existing[:MAX_LISTED]],
        "existing_count": len(preview.existing),
        "errors": [[error.line, error.text, error.reason] for error in preview.errors[:MAX_LISTED]],
        "error_count": len(preview.errors),
        "refused": preview.refused_devices,
        "importable": preview.importable,
        "max_listed": MAX_LISTED,
    }
