"""The connector's Settings and Access Rules tabs, under /administration/."""
from django.urls import path

from policies import views

app_name = "policies"

urlpatterns = [
    path("exchange-connectors/<int:pk>/settings/", views.ConnectorSettingsView.as_view(), name="connector_settings"),
    path("exchange-connectors/<int:pk>/access-rules/", views.ConnectorAccessRulesView.as_view(), name="connector_access_rules"),
    path("exchange-connectors/<int:pk>/access-rules/preview/", views.ConnectorAccessPreviewView.as_view(),
         name="connector_access_preview"),
    path("exchange-connectors/<int:pk>/push/", views.ConnectorPushView.as_view(), name="connector_push"),
    path("exchange-connectors/<int:pk>/take-exchange-values/", views.ConnectorTakeExchangeView.as_view(),
         name="connector_take_exchange"),
    path("exchange-connectors/<int:pk>/adopt-rule/", views.ConnectorAdoptRuleView.as_view(), name="connector_adopt_rule"),
]
