from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.MyDevicesView.as_view(), name="my_devices"),
]
