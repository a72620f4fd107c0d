"""Assets and Compliance ▸ Device Collections: the collections, their rules, direct members and members."""
from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django_tables2 import RequestConfig

from devices import services
from devices.filtersets import CollectionFilterSet
from devices.forms import CollectionForm, CollectionRuleForm
from devices.models import Collection, CollectionMember, CollectionRule, Device
from devices.rules import field_label
from devices.selectors import devices_for
from devices.services.collections import rule_text
from devices.views.sections import shown
from devices.tables import CollectionMemberTable, CollectionTable, DevicePickTable
from easconsole.generic import Action, ObjectDeleteView, ObjectDetailView, ObjectEditView, ObjectListView, ObjectView
from easconsole.permissions import has_perm

COLLECTION_ACTIONS = (
    Action(_("Create Device Collection"), "devices:collection_add", "devices.modify_collection", "primary"),
    Action(_("Properties"), "devices:collection_edit", "devices.modify_collection", needs_object=True),
    Action(_("Add Resources"), "devices:collection_members_add", "devices.modify_collection", needs_object=True),
    Action(_("Add Rule"), "devices:collectionrule_add", "devices.modify_collection", needs_object=True),
    Action(_("Delete"), "devices:collection_delete", "devices.modify_collection", "outline-danger", needs_object=True),
)
MEMBERS_PER_PAGE = 50


class CollectionListView(ObjectListView):
    queryset = Collection.objects.annotate(member_count=Count("members"))
    table = CollectionTable
    filterset = CollectionFilterSet
    permission_required = "devices.read_collection"
    actions = COLLECTION_ACTIONS


class CollectionDetailView(ObjectDetailView):
    queryset = Collection.objects.all()
    permission_required = "devices.read_collection"
    actions = COLLECTION_ACTIONS
    template_name = "devices/collection_detail.html"

    def permitted_actions(self, obj=None):
        # The built-in collection cannot be changed or deleted: offer no button that would fail.
        return [] if obj is not None and obj.is_builtin else super().permitted_actions(obj)

    def get_sections(self, obj):
        return [(_("General"), [(_("Name"), obj.name), (_("Comment"), obj.comment), (_("Built-in"), obj.is_builtin),
                                (_("Created"), shown(obj.created)), (_("Membership refreshed"), shown(obj.members_refreshed))])]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        collection = kwargs.get("object")
        if collection is None or self.request.GET.get("pane"):
            return context
        members = CollectionMember.objects.filter(collection=collection).select_related("device")
        table = CollectionMemberTable(members, request=self.request, order_by=("name",))
        RequestConfig(self.request, paginate={"per_page": MEMBERS_PER_PAGE}).configure(table)
        may_modify = not collection.is_builtin and has_perm(self.request.user, "devices.modify_collection", collection)
        if not may_modify:
            table.columns.hide("select")
        context.update(members=table, rules=[(rule, field_label(rule.field)) for rule in collection.rules.all()],
                       may_modify=may_modify, rule_form=CollectionRuleForm() if may_modify else None)
        return context


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


class CollectionMembershipView(ObjectView):
    """A page that changes a collection's membership: Modify on that collection; never the built-in one."""

    queryset = Collection.objects.filter(is_builtin=False)
    permission_required = "devices.modify_collection"

    def back(self, collection):
        return HttpResponseRedirect(collection.get_absolute_url())


class CollectionRuleAddView(CollectionMembershipView):
    template_name = "generic/object_edit.html"

    def render_form(self, collection, form):
        context = self.get_context_data(form=form, object=collection, model=Collection, cancel_url=collection.get_absolute_url(),
                                        title=_t("Add a membership rule to %(collection)s") % {"collection": collection})
        return self.render_to_response(context)

    def get(self, request, *args, **kwargs):
        return self.render_form(self.get_object(), CollectionRuleForm())

    def post(self, request, *args, **kwargs):
        collection = self.get_object()
        form = CollectionRuleForm(request.POST)
        if not form.is_valid():
            return self.render_form(collection, form)
        services.collection_rule_add(collection=collection, field=form.cleaned_data["field"], operator=form.cleaned_data["operator"],
                                     value=form.cleaned_data["value"], user=request.user, address=self.address)
        messages.success(request, _t("Added the rule; the collection now has %(count)d members.")
                         % {"count": CollectionMember.objects.filter(collection=collection).count()})
        return self.back(collection)


class CollectionRuleDeleteView(CollectionMembershipView):
    template_name = "generic/object_delete.html"

    def get_rule(self):
        collection = self.get_object()
        return get_object_or_404(CollectionRule, pk=self.kwargs["rule_pk"], collection=collection)

    def get(self, request, *args, **kwargs):
        rule = self.get_rule()
        text = rule_text(rule)
        return self.render_to_response(self.get_context_data(
            object=rule.collection, model=Collection, title=_t("Remove the rule “%(rule)s”") % {"rule": text},
            consequence=_t("Devices that are members only through this rule may leave the collection.")))

    def post(self, request, *args, **kwargs):
        rule = self.get_rule()
        services.collection_rule_delete(rule=rule, user=request.user, address=self.address)
        messages.success(request, _t("Removed the rule."))
        return self.back(rule.collection)


class CollectionMembersAddView(CollectionMembershipView):
    """Add Resources: search the devices the user may read and make the chosen ones direct members."""

    template_name = "devices/collection_members_add.html"

    def get(self, request, *args, **kwargs):
        collection = self.get_object()
        query = request.GET.get("q", "").strip()
        candidates = Device.objects.none()
        if query:
            direct = CollectionMember.objects.filter(collection=collection, direct=True).values("device_id")
            candidates = devices_for(request.user, "devices.read_collection").exclude(pk__in=direct).filter(
                Q(name__icontains=query) | Q(device_id__icontains=query) | Q(user_display_name__icontains=query)
                | Q(user_principal_name__icontains=query))
        table = DevicePickTable(candidates, request=request)
        RequestConfig(request, paginate={"per_page": MEMBERS_PER_PAGE}).configure(table)
        return self.render_to_response(self.get_context_data(object=collection, table=table, query=query,
                                                             title=_t("Add Resources to %(collection)s") % {"collection": collection}))

    def post(self, request, *args, **kwargs):
        collection = self.get_object()
        ids = [int(pk) for pk in request.POST.getlist("select") if pk.isdigit()]
        added = services.collection_members_add(collection=collection, device_ids=ids, user=request.user, address=self.address)
        messages.success(request, _t("Added %(count)d direct member(s).") % {"count": added})
        return self.back(collection)


class CollectionMembersRemoveView(CollectionMembershipView):
    """Remove the selected direct members (from the members table of the collection page)."""

    def get(self, request, *args, **kwargs):
        return self.back(self.get_object())

    def post(self, request, *args, **kwargs):
        collection = self.get_object()
        ids = [int(pk) for pk in request.POST.getlist("select") if pk.isdigit()]
        removed = services.collection_members_remove(collection=collection, device_ids=ids, user=request.user, address=self.address)
        if removed:
            messages.success(request, _t("Removed %(count)d direct member(s).") % {"count": removed})
        else:
            messages.info(request, _t("Only direct members can be removed; members by rule follow the rules."))
        return self.back(collection)
