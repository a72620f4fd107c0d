"""Discovery: Monitoring ▸ Discovery, and "Run full/delta discovery now" on a connector."""
from django.urls import path

from devices.views import discovery

urlpatterns = [
    path("discovery/", discovery.DiscoveryRunListView.as_view(), name="discoveryrun_list"),
    path("discovery/<int:pk>/", discovery.DiscoveryRunDetailView.as_view(), name="discoveryrun_detail"),
    path("discovery/connectors/<int:pk>/<str:kind>/", discovery.ConnectorDiscoverView.as_view(), name="connector_discover"),
]
