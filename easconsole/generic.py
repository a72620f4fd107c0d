"""Generic console views that the apps' views declare themselves from (as NetBox's generic views).

A view declares its ``queryset``, ``table``, ``filterset``, ``form`` and the permission it needs;
the writes go through a service given as ``save``/``delete``. Templates extend the generic
``templates/generic/object_*.html``.
"""
from __future__ import annotations

from dataclasses import dataclass
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.generic import TemplateView
from django_tables2 import RequestConfig

from easconsole.audit import client_address
from easconsole.csv_export import csv_response
from easconsole.permissions import has_perm, holds_anywhere, is_console_user, objects_for


@dataclass(frozen=True)
class Action:
    """A button of the action bar: shown only to people holding ``permission`` (on the object, if any)."""

    label: str
    url_name: str
    permission: str
    style: str = "outline-primary"
    needs_object: bool = False
    url_args: tuple = ()  # after the object's pk, e.g. ("full",)


class ConsoleView(LoginRequiredMixin, TemplateView):
    """A console page: signed-in administrators and analysts only; end users get 403."""

    permission_required: str = ""
    actions: tuple[Action, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not is_console_user(request.user):
            raise PermissionDenied(_("The console is for administrators. Your devices are in the Application Catalog."))
        return super().dispatch(request, *args, **kwargs)

    @property
    def address(self) -> str | None:
        return client_address(self.request)

    def check_permission(self, obj: Model | None = None) -> None:
        """Raise PermissionDenied unless the user holds the view's permission (on ``obj`` if given)."""
        if obj is None:
            allowed = holds_anywhere(self.request.user, self.permission_required)
        else:
            allowed = has_perm(self.request.user, self.permission_required, obj)
        if not allowed:
            raise PermissionDenied

    def permission_object(self, obj: Model) -> Model:
        """The object the actions' permissions are held on (the object itself; a connector's site)."""
        return obj

    def permitted_actions(self, obj: Model | None = None) -> list[dict]:
        user = self.request.user
        buttons = []
        for action in self.actions:
            if action.needs_object:
                if obj is None or not has_perm(user, action.permission, self.permission_object(obj)):
                    continue
                url = reverse(action.url_name, args=[obj.pk, *action.url_args])
            else:
                if not has_perm(user, action.permission):
                    continue
                url = reverse(action.url_name)
            buttons.append({"label": action.label, "url": url, "style": action.style})
        return buttons


class ObjectListView(ConsoleView):
    """A sortable, filterable, paginated, exportable list of the objects the user may read."""

    template_name = "generic/object_list.html"
    queryset = None
    table = None
    filterset = None
    per_page = 50
    title = None
    object_permission = True  # narrow the list to objects the user holds the permission on

    def get_queryset(self):
        queryset = self.queryset.all()
        if self.object_permission:
            queryset = objects_for(self.request.user, self.permission_required, queryset)
        return queryset

    def get(self, request, *args, **kwargs):
        self.check_permission()
        queryset = self.get_queryset()
        self.filter = None
        if self.filterset is not None:
            self.filter = self.filterset(request.GET, queryset=queryset, request=request)
            queryset = self.filter.qs if self.filter.is_valid() else queryset.none()
        table = self.table(queryset, request=request)
        if request.GET.get("export") == "csv":
            return self.export_csv(table)
        RequestConfig(request, paginate={"per_page": self.per_page}).configure(table)
        context = self.get_context_data(table=table, filter=self.filter, actions=self.permitted_actions())
        return self.render_to_response(context)

    def export_csv(self, table) -> HttpResponse:
        model = self.queryset.model
        return csv_response(table.as_values(), f"{slugify(model._meta.verbose_name_plural)}.csv")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["model"] = self.queryset.model
        context["title"] = self.title or self.queryset.model._meta.verbose_name_plural.capitalize()
        context["details_pane"] = "hx-get" in (getattr(self.table._meta, "row_attrs", None) or {})
        return context


class ObjectView(ConsoleView):
    """A page about one object the user may read (404 for objects outside their scope)."""

    queryset = None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        model = self.queryset.model
        context["list_url"] = reverse(f"{self.request.resolver_match.namespace}:{model._meta.model_name}_list")
        context["list_title"] = model._meta.verbose_name_plural.capitalize()
        return context

    def get_object(self) -> Model:
        """The object, if the user holds the permission on it: 403 without the permission at all,
        404 for an object outside their scope (so its existence is not revealed)."""
        self.check_permission()
        obj = get_object_or_404(self.queryset, pk=self.kwargs["pk"])
        if not has_perm(self.request.user, self.permission_required, obj):
            raise Http404
        return obj


class ObjectDetailView(ObjectView):
    """Details of one object, in sections; ``?pane=1`` renders only the details pane (for htmx)."""

    template_name = "generic/object_detail.html"

    def get_sections(self, obj) -> list[tuple[str, list[tuple[str, object]]]]:
        """The object's details as (section title, [(label, value)]) pairs."""
        fields = [f for f in obj._meta.get_fields() if f.concrete and not f.many_to_many and f.name != "id"]
        return [(_("General"), [(f.verbose_name.capitalize(), getattr(obj, f.name)) for f in fields])]

    def get(self, request, *args, **kwargs):
        obj = self.get_object()
        if request.GET.get("pane"):
            self.template_name = "generic/details_pane.html"
        context = self.get_context_data(object=obj, sections=self.get_sections(obj), actions=self.permitted_actions(obj),
                                        title=str(obj), model=type(obj))
        return self.render_to_response(context)


class ObjectEditView(ObjectView):
    """Create (no ``pk`` in the URL) or change an object through a form and a service.

    Subclasses call their service in ``perform_save``. Creating needs the permission globally,
    changing needs it on the object.
    """

    template_name = "generic/object_edit.html"
    form = None
    model = None

    def get_object(self) -> Model:
        if "pk" not in self.kwargs:
            if not has_perm(self.request.user, self.permission_required):
                raise PermissionDenied
            return self.model()
        return super().get_object()

    def perform_save(self, form) -> Model:
        raise NotImplementedError

    def get_form(self, obj):
        return self.form(self.request.POST or None, instance=obj, user=self.request.user)

    def render_form(self, obj, form):
        creating = obj.pk is None
        title = _("Add %(model)s") % {"model": self.model._meta.verbose_name} if creating else _("Edit %(object)s") % {"object": obj}
        context = self.get_context_data(form=form, object=obj, title=title, model=self.model)
        context["cancel_url"] = context["list_url"] if creating else obj.get_absolute_url()
        return self.render_to_response(context)

    def get(self, request, *args, **kwargs):
        obj = self.get_object()
        return self.render_form(obj, self.get_form(obj))

    def post(self, request, *args, **kwargs):
        obj = self.get_object()
        form = self.get_form(obj)
        if form.is_valid():
            try:
                saved = self.perform_save(form)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Saved %(object)s.") % {"object": saved})
                return HttpResponseRedirect(saved.get_absolute_url())
        return self.render_form(obj, form)


class ObjectDeleteView(ObjectView):
    """Ask, then delete one object through the service that ``perform_delete`` calls."""

    template_name = "generic/object_delete.html"
    consequence: str = ""

    def perform_delete(self, obj) -> None:
        raise NotImplementedError

    def get(self, request, *args, **kwargs):
        obj = self.get_object()
        return self.render_to_response(self.get_context_data(object=obj, title=_("Delete %(object)s") % {"object": obj},
                                                             consequence=self.consequence, model=type(obj)))

    def post(self, request, *args, **kwargs):
        obj = self.get_object()
        name = str(obj)
        try:
            self.perform_delete(obj)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(obj.get_absolute_url())
        messages.success(request, _("Deleted %(object)s.") % {"object": name})
        return HttpResponseRedirect(self.get_context_data()["list_url"])
