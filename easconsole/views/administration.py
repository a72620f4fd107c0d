"""Administration ▸ Sites and Administration ▸ Security."""
from django.utils.translation import gettext_lazy as _

from easconsole import filtersets, services, tables
from easconsole.forms.model_forms import RoleAssignmentForm, SiteForm
from easconsole.generic import Action, ObjectDeleteView, ObjectDetailView, ObjectEditView, ObjectListView
from easconsole.models import Role, RoleAssignment, Site

SITE_ACTIONS = (
    Action(_("Add Site"), "easconsole:site_add", "easconsole.modify_site", "primary"),
    Action(_("Properties"), "easconsole:site_edit", "easconsole.modify_site", needs_object=True),
    Action(_("Delete"), "easconsole:site_delete", "easconsole.modify_site", "outline-danger", needs_object=True),
)


class SiteListView(ObjectListView):
    queryset = Site.objects.all()
    table = tables.SiteTable
    filterset = filtersets.SiteFilterSet
    permission_required = "easconsole.read_site"
    actions = SITE_ACTIONS


class SiteDetailView(ObjectDetailView):
    queryset = Site.objects.all()
    permission_required = "easconsole.read_site"
    actions = SITE_ACTIONS


class SiteEditView(ObjectEditView):
    queryset = Site.objects.all()
    model = Site
    form = SiteForm
    permission_required = "easconsole.modify_site"

    def perform_save(self, form):
        return services.site_save(site=form.instance, user=self.request.user, address=self.address)


class SiteDeleteView(ObjectDeleteView):
    queryset = Site.objects.all()
    permission_required = "easconsole.modify_site"
    consequence = _("The site's connectors stop and its devices are no longer discovered.")

    def perform_delete(self, obj):
        services.site_delete(site=obj, user=self.request.user, address=self.address)


ASSIGNMENT_ACTIONS = (
    Action(_("Add User or Group"), "easconsole:roleassignment_add", "easconsole.assign_role", "primary"),
    Action(_("Properties"), "easconsole:roleassignment_edit", "easconsole.assign_role", needs_object=True),
    Action(_("Delete"), "easconsole:roleassignment_delete", "easconsole.assign_role", "outline-danger", needs_object=True),
)


class RoleAssignmentListView(ObjectListView):
    queryset = RoleAssignment.objects.select_related("role", "user", "group").prefetch_related("sites", "collections")
    table = tables.RoleAssignmentTable
    filterset = filtersets.RoleAssignmentFilterSet
    permission_required = "easconsole.assign_role"
    object_permission = False
    actions = ASSIGNMENT_ACTIONS


class RoleAssignmentDetailView(ObjectDetailView):
    queryset = RoleAssignment.objects.select_related("role", "user", "group")
    permission_required = "easconsole.assign_role"
    actions = ASSIGNMENT_ACTIONS

    def get_sections(self, obj):
        return [
            (_("Administrative user"), [(_("User or group"), obj.principal_name), (_("Security role"), obj.role)]),
            (
                _("Security scopes"),
                [
                    (_("Sites"), _("All sites") if obj.all_sites else ", ".join(str(s) for s in obj.sites.all())),
                    (_("Collections"), _("All collections") if obj.all_collections else ", ".join(str(c) for c in obj.collections.all())),
                ],
            ),
            (_("Permissions"), [(p.content_type.name.capitalize(), p.name) for p in obj.role.permissions.select_related("content_type")]),
        ]


class RoleAssignmentEditView(ObjectEditView):
    queryset = RoleAssignment.objects.all()
    model = RoleAssignment
    form = RoleAssignmentForm
    permission_required = "easconsole.assign_role"

    def perform_save(self, form):
        return services.role_assignment_save(
            assignment=form.instance,
            user=self.request.user,
            sites=form.cleaned_data["sites"],
            collections=form.cleaned_data["collections"],
            address=self.address,
        )


class RoleAssignmentDeleteView(ObjectDeleteView):
    queryset = RoleAssignment.objects.all()
    permission_required = "easconsole.assign_role"
    consequence = _("They lose the role's permissions at once.")

    def perform_delete(self, obj):
        services.role_assignment_delete(assignment=obj, user=self.request.user, address=self.address)


class RoleListView(ObjectListView):
    queryset = Role.objects.all()
    table = tables.RoleTable
    permission_required = "easconsole.assign_role"
    object_permission = False


class RoleDetailView(ObjectDetailView):
    queryset = Role.objects.prefetch_related("permissions__content_type")
    permission_required = "easconsole.assign_role"

    def get_sections(self, obj):
        return [
            (_("General"), [(_("Name"), obj.name), (_("Role ID"), obj.role_id), (_("Description"), obj.description)]),
            (_("Permissions"), [(p.content_type.name.capitalize(), p.name) for p in obj.permissions.all()]),
        ]
