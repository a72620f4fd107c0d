from django.urls import path

from devices.actions import views as actions
from devices.views import collections, devices

app_name = "devices"

urlpatterns = [
    path("devices/", devices.DeviceListView.as_view(), name="device_list"),
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
]

# --- device actions (devices/actions/)
urlpatterns += [
    path("devices/<int:pk>/actions/<str:kind>/", actions.DeviceActionView.as_view(), name="device_action"),
    path("devices/actions/<str:kind>/", actions.BulkActionView.as_view(), name="device_bulk_action"),
    path("device-actions/", actions.DeviceActionListView.as_view(), name="deviceaction_list"),
    path("device-actions/<int:pk>/", actions.DeviceActionDetailView.as_view(), name="deviceaction_detail"),
    path("reports/wipe-actions/", actions.WipeReportView.as_view(), name="wipe_report"),
]
# --- end device actions

# --- discovery (devices/discovery/): Monitoring ▸ Discovery, and "Run full/delta discovery now" on a connector
from devices.views import discovery  # noqa: E402

urlpatterns += [
    path("discovery/", discovery.DiscoveryRunListView.as_view(), name="discoveryrun_list"),
    path("discovery/<int:pk>/", discovery.DiscoveryRunDetailView.as_view(), name="discoveryrun_detail"),
    path("discovery/connectors/<int:pk>/<str:kind>/", discovery.ConnectorDiscoverView.as_view(), name="connector_discover"),
]
# --- end discovery

# --- user device affinity (devices/affinity/): Device ▸ Edit Primary Users, Import User Device Affinity
from devices.affinity import views as affinity  # noqa: E402

urlpatterns += [
    path("devices/<int:pk>/primary-users/", affinity.DeviceAffinityView.as_view(), name="device_affinity"),
    path("user-device-affinity/import/", affinity.AffinityImportView.as_view(), name="affinity_import"),
]
# --- end user device affinity

# --- device reports (devices/reports/): Reports ▸ inventory, inactive devices, compliance, settings summary
from devices.reports import views as reports  # noqa: E402

urlpatterns += [
    path("reports/devices-by-os-type-access/", reports.InventoryReportView.as_view(), name="report_inventory"),
    path("reports/inactive-devices/", reports.InactiveReportView.as_view(), name="report_inactive"),
    path("reports/compliance/", reports.ComplianceReportView.as_view(), name="report_compliance"),
    path("reports/settings-summary/", reports.SettingsReportView.as_view(), name="report_settings"),
]
# --- end device reports
