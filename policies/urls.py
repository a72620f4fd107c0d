"""The connector's Settings and Access Rules tabs, under /administration/."""
from django.urls import path

from policies import views

app_name = "policies"

urlpatterns = [
    path("exchange-connectors/<int:pk>/settings/", views.ConnectorSettingsView.as_view(), name="connector_settings"),
    path("exchange-connectors/<int:pk>/access-rules/", views.ConnectorAccessRulesView.as_view(), name="connector_access_rules"),
]
