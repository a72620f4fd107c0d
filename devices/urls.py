"""Assets and Compliance: devices and collections; each feature subpackage's URLs are included once."""
from django.urls import include, path

from devices.views import collections, devices, search

app_name = "devices"

urlpatterns = [
    path("devices/", devices.DeviceListView.as_view(), name="device_list"),
    path("search/", search.DeviceSearchView.as_view(), name="search"),
    path("devices/columns/", devices.DeviceColumnsView.as_view(), name="device_columns"),
    path("devices/<int:pk>/", devices.DeviceDetailView.as_view(), name="device_detail"),
    path("collections/", collections.CollectionListView.as_view(), name="collection_list"),
    path("collections/add/", collections.CollectionEditView.as_view(), name="collection_add"),
    path("collections/<int:pk>/", collections.CollectionDetailView.as_view(), name="collection_detail"),
    path("collections/<int:pk>/edit/", collections.CollectionEditView.as_view(), name="collection_edit"),
    path("collections/<int:pk>/delete/", collections.CollectionDeleteView.as_view(), name="collection_delete"),
    path("collections/<int:pk>/rules/add/", collections.CollectionRuleAddView.as_view(), name="collectionrule_add"),
    path("collections/<int:pk>/rules/<int:rule_pk>/delete/", collections.CollectionRuleDeleteView.as_view(),
         name="collectionrule_delete"),
    path("collections/<int:pk>/members/add/", collections.CollectionMembersAddView.as_view(), name="collection_members_add"),
    path("collections/<int:pk>/members/remove/", collections.CollectionMembersRemoveView.as_view(),
         name="collection_members_remove"),
    path("", include("devices.actions.urls")),
    path("", include("devices.discovery.urls")),
    path("", include("devices.affinity.urls")),
    path("", include("devices.reports.urls")),
    path("", include("devices.offboarding.urls")),
    path("", include("devices.cleanup.urls")),
]
