"""Assets and Compliance ▸ Offboarding: the list, offboarding a user, and one offboarding's outcome."""
from django.urls import path

from devices.offboarding import views

urlpatterns = [
    path("offboarding/", views.OffboardingListView.as_view(), name="offboarding_list"),
    path("offboarding/add/", views.OffboardingAddView.as_view(), name="offboarding_add"),
    path("offboarding/<int:pk>/", views.OffboardingDetailView.as_view(), name="offboarding_detail"),
]
