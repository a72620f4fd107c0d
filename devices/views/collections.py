"""Assets and Compliance ▸ Device Collections."""
from django.utils.translation import gettext_lazy as _

from devices import services
from devices.filtersets import CollectionFilterSet
from devices.forms import CollectionForm
from devices.models import Collection
from devices.tables import CollectionTable
from easconsole.generic import Action, ObjectDeleteView, ObjectDetailView, ObjectEditView, ObjectListView

COLLECTION_ACTIONS = (
    Action(_("Create Device Collection"), "devices:collection_add", "devices.modify_collection", "primary"),
    Action(_("Properties"), "devices:collection_edit", "devices.modify_collection", needs_object=True),
    Action(_("Delete"), "devices:collection_delete", "devices.modify_collection", "outline-danger", needs_object=True),
)


class CollectionListView(ObjectListView):
    queryset = Collection.objects.all()
    table = CollectionTable
    filterset = CollectionFilterSet
    permission_required = "devices.read_collection"
    actions = COLLECTION_ACTIONS


class CollectionDetailView(ObjectDetailView):
    queryset = Collection.objects.all()
    permission_required = "devices.read_collection"
    actions = COLLECTION_ACTIONS

    def permitted_actions(self, obj=None):
        # The built-in collection cannot be changed or deleted: offer no button that would fail.
        return [] if obj is not None and obj.is_builtin else super().permitted_actions(obj)


class CollectionEditView(ObjectEditView):
    queryset = Collection.objects.filter(is_builtin=False)
    model = Collection
    form = CollectionForm
    permission_required = "devices.modify_collection"

    def perform_save(self, form):
        return services.collection_save(collection=form.instance, user=self.request.user, address=self.address)


class CollectionDeleteView(ObjectDeleteView):
    queryset = Collection.objects.filter(is_builtin=False)
    permission_required = "devices.modify_collection"
    consequence = _("Administrators whose roles are limited to this collection lose access to its devices.")

    def perform_delete(self, obj):
        services.collection_delete(collection=obj, user=self.request.user, address=self.address)
