from django.urls import path  # noqa: F401  (the policy pages are added here)

app_name = "policies"

urlpatterns: list = []
