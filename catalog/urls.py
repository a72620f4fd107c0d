from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.MyDevicesView.as_view(), name="my_devices"),
    path("devices/<int:pk>/", views.DeviceStatusView.as_view(), name="device_status"),
    path("devices/<int:pk>/wipe/", views.WipeView.as_view(), name="device_wipe"),
    path("devices/<int:pk>/cancel-wipe/", views.CancelWipeView.as_view(), name="device_cancel_wipe"),
]
