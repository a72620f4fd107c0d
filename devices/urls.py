from django.urls import path

from devices.views import collections

app_name = "devices"

urlpatterns = [
    path("collections/", collections.CollectionListView.as_view(), name="collection_list"),
    path("collections/add/", collections.CollectionEditView.as_view(), name="collection_add"),
    path("collections/<int:pk>/", collections.CollectionDetailView.as_view(), name="collection_detail"),
    path("collections/<int:pk>/edit/", collections.CollectionEditView.as_view(), name="collection_edit"),
    path("collections/<int:pk>/delete/", collections.CollectionDeleteView.as_view(), name="collection_delete"),
]
