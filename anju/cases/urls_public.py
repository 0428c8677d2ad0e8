"""The residents' pages: report a problem, and follow it through the private link."""

from django.urls import path

from anju.cases import views_public

urlpatterns = [
    path("report/", views_public.report, name="public_report"),
    path("report/done/<str:token>/", views_public.report_done, name="public_report_done"),
    path("c/<str:token>/", views_public.case_page, name="public_case"),
]
