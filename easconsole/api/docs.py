"""``/api/docs/``: the OpenAPI schema in Swagger UI, a console page (signed-in administrators and analysts).

drf-spectacular's own Swagger page configures Swagger UI in an inline script and style, which the console's
Content-Security-Policy refuses. This page loads Swagger UI from drf-spectacular-sidecar's static files and
gives its settings as data- attributes, which ``static/js/console.js`` reads to start it.
"""
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from easconsole.generic import ConsoleView


class ApiDocsView(ConsoleView):
    template_name = "easconsole/api_docs.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(title=_("REST API"), schema_url=reverse("api:schema") + "?format=json", **kwargs)
