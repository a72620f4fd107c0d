"""``/api/``: the routes registered by the project and the apps, the OpenAPI 3 schema and its browsable docs."""
from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from easconsole.api import registry
from easconsole.api.docs import ApiDocsView

router = DefaultRouter()
router.include_format_suffixes = False
for route in registry.routes:
    router.register(route.prefix, route.resolved(), basename=route.basename)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", ApiDocsView.as_view(), name="docs"),
    *router.urls,
]
