from django.urls import path

from devices import views

app_name = "devices"

urlpatterns = [
    path("collections/", views.CollectionListView.as_view(), name="collection_list"),
    path("collections/add/", views.CollectionEditView.as_view(), name="collection_add"),
    path("collections/<int:pk>/", views.CollectionDetailView.as_view(), name="collection_detail"),
    path("collections/<int:pk>/edit/", views.CollectionEditView.as_view(), name="collection_edit"),
    path("collections/<int:pk>/delete/", views.CollectionDeleteView.as_view(), name="collection_delete"),
]
