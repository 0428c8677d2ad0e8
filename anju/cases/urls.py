from django.urls import include, path

from anju.cases import views

urlpatterns = [
    path("cases/<str:number>/", views.case_detail, name="case_detail"),
    path("", include("anju.cases.urls_public")),
    path("", include("anju.cases.urls_setup")),
    path("", include("anju.cases.urls_indicators")),
    path("", include("anju.cases.urls_open311")),
]
