"""Stale-device cleanup: the connector's rule and previews, a run and its approval, the report."""
from django.urls import path

from devices.cleanup import views

urlpatterns = [
    path("connectors/<int:pk>/cleanup/", views.CleanupRuleView.as_view(), name="cleanup_rule"),
    path("connectors/<int:pk>/cleanup/preview/", views.CleanupPreviewView.as_view(), name="cleanup_preview"),
    path("cleanup-runs/<int:pk>/", views.CleanupRunDetailView.as_view(), name="cleanuprun_detail"),
    path("cleanup-runs/<int:pk>/approve/", views.CleanupRunApproveView.as_view(), name="cleanuprun_approve"),
    path("reports/removed-stale-devices/", views.RemovedDeviceListView.as_view(), name="report_removed_stale"),
]
