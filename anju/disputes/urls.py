from django.urls import include, path

from anju.disputes import views

urlpatterns = [
    path("disputes/", views.dispute_list, name="disputes"),
    path("disputes/new/", views.dispute_new, name="dispute_new"),
    # The station's rhythm and the figures (before "disputes/<number>/").
    path("", include("anju.disputes.urls_rhythm")),
    path("disputes/setup/", views.setup_index, name="dispute_setup"),
    path("disputes/setup/rooms/new/", views.setup_room, name="dispute_setup_room"),
    path("disputes/setup/rooms/<int:pk>/", views.setup_room, name="dispute_setup_room_edit"),
    path("disputes/setup/mediators/new/", views.setup_mediator, name="dispute_setup_mediator"),
    path("disputes/setup/mediators/<int:pk>/", views.setup_mediator, name="dispute_setup_mediator_edit"),
    # After the fixed paths above, so that "disputes/<word>/" pages are not read as dispute numbers.
    path("disputes/<str:number>/", views.dispute_detail, name="dispute_detail"),
    path("disputes/<str:number>/act/", views.dispute_act, name="dispute_act"),
    path("disputes/<str:number>/agreement/", views.dispute_agreement, name="dispute_agreement"),
    path("disputes/<str:number>/term/", views.dispute_term, name="dispute_term"),
    path("disputes/<str:number>/on-spot/", views.dispute_on_spot, name="dispute_on_spot"),
    path("disputes/<str:number>/agreement.pdf", views.agreement_pdf, name="dispute_agreement_pdf"),
    path("disputes/<str:number>/dossier.pdf", views.dossier_pdf, name="dispute_dossier_pdf"),
    *(
        path(f"disputes/<str:number>/{slug}/", views.dispute_record, {"what": what}, name=f"dispute_{what}")
        for what, slug in (
            ("session", "session"),
            ("risk", "risk"),
            ("follow_up_plan", "follow-up/plan"),
            ("follow_up", "follow-up"),
            ("court", "court"),
            ("court_answer", "court/answer"),
            ("review", "review"),
        )
    ),
]
