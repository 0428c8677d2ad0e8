from django.urls import include, path

urlpatterns = [
    path("", include("anju.registry.urls_public")),
    path("", include("anju.registry.urls_files")),
    path("", include("anju.registry.urls_reports")),
]
