from django.urls import include, path

from anju.cases import views

urlpatterns = [
    path("cases/", views.case_list, name="cases"),
    path("cases/new/", views.case_new, name="case_new"),
    path("cases/supervision/", views.case_supervision, name="case_supervision"),
    path("", include("anju.cases.urls_public")),
    path("", include("anju.cases.urls_setup")),
    path("", include("anju.cases.urls_indicators")),
    path("", include("anju.cases.urls_open311")),
    # After the fixed paths above, so that "cases/<word>/" pages are not read as case numbers.
    path("cases/<str:number>/", views.case_detail, name="case_detail"),
    path("cases/<str:number>/act/", views.case_act, name="case_act"),
    path("cases/<str:number>/summon/", views.case_summon, name="case_summon"),
    path("cases/<str:number>/rate/", views.case_rate, name="case_rate"),
    path("cases/<str:number>/photos/<int:photo_id>/", views.case_photo, name="case_photo"),
    path("cases/<str:number>/summons/<int:summons_id>/report-in/", views.summons_report_in, name="summons_report_in"),
    path("cases/<str:number>/summons/<int:summons_id>/done/", views.summons_done, name="summons_done"),
]
