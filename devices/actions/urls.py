"""Device actions: one device's action, bulk actions, Monitoring ▸ Device actions, Reports ▸ Wipe actions."""
from django.urls import path

from devices.actions import views

urlpatterns = [
    path("devices/<int:pk>/actions/<str:kind>/", views.DeviceActionView.as_view(), name="device_action"),
    path("devices/actions/<str:kind>/", views.BulkActionView.as_view(), name="device_bulk_action"),
    path("device-actions/", views.DeviceActionListView.as_view(), name="deviceaction_list"),
    path("device-actions/<int:pk>/", views.DeviceActionDetailView.as_view(), name="deviceaction_detail"),
    path("reports/wipe-actions/", views.WipeReportView.as_view(), name="wipe_report"),
]
