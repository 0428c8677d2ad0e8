"""Pages of the registry's reports: quality per division and the quarterly report download."""

from django.urls import path

from anju.registry import views_reports

urlpatterns = [
    path("registry/quality/", views_reports.quality, name="registry_quality"),
    path("registry/quality/quarterly.xlsx", views_reports.quarterly, name="registry_quarterly"),
]
