"""Pages of registry files: import, import templates, export."""

from django.urls import path

from anju.registry import views_files

urlpatterns = [
    path("registry/import/", views_files.registry_import, name="registry_import"),
    path(
        "registry/import/template/<str:kind>.xlsx",
        views_files.registry_import_template,
        name="registry_import_template",
    ),
    path("registry/export/", views_files.registry_export, name="registry_export"),
]
