"""The set-up pages of the closed loop."""

from django.urls import path

from anju.cases import views_setup

urlpatterns = [
    path("cases/setup/", views_setup.index, name="case_setup"),
    path("cases/setup/categories/", views_setup.categories, name="case_setup_categories"),
    path("cases/setup/categories/new/", views_setup.category_edit, name="case_setup_category_new"),
    path("cases/setup/categories/<str:code>/", views_setup.category_edit, name="case_setup_category"),
    path("cases/setup/units/", views_setup.units, name="case_setup_units"),
    path("cases/setup/units/<str:code>/", views_setup.unit, name="case_setup_unit"),
    path("cases/setup/rules/", views_setup.rules, name="case_setup_rules"),
    path("cases/setup/rules/<int:pk>/delete/", views_setup.rule_delete, name="case_setup_rule_delete"),
    path("cases/setup/calendar/", views_setup.calendar, name="case_setup_calendar"),
    path("cases/setup/calendar/<str:day>/remove/", views_setup.calendar_remove, name="case_setup_calendar_remove"),
    path("cases/setup/open311/", views_setup.open311, name="case_setup_open311"),
    path("cases/setup/open311/<int:pk>/revoke/", views_setup.open311_revoke, name="case_setup_open311_revoke"),
]
