"""User device affinity: Device ▸ Edit Primary Users, Import User Device Affinity."""
from django.urls import path

from devices.affinity import views

urlpatterns = [
    path("devices/<int:pk>/primary-users/", views.DeviceAffinityView.as_view(), name="device_affinity"),
    path("user-device-affinity/import/", views.AffinityImportView.as_view(), name="affinity_import"),
]
