"""Reports ▸ devices by OS/type/access state, inactive devices, compliance, settings summary."""
from django.urls import path

from devices.reports import dashboard, views

urlpatterns = [
    path("dashboard/", dashboard.DashboardView.as_view(), name="dashboard"),
    path("reports/devices-by-os-type-access/", views.InventoryReportView.as_view(), name="report_inventory"),
    path("reports/inactive-devices/", views.InactiveReportView.as_view(), name="report_inactive"),
    path("reports/compliance/", views.ComplianceReportView.as_view(), name="report_compliance"),
    path("reports/settings-summary/", views.SettingsReportView.as_view(), name="report_settings"),
]
