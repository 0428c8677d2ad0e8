"""The case indicators page and its XLSX download."""

from django.urls import path

from anju.cases import views_indicators

urlpatterns = [
    path("cases/indicators/", views_indicators.case_indicators, name="case_indicators"),
    path("cases/indicators.xlsx", views_indicators.case_indicators_xlsx, name="case_indicators_xlsx"),
]
