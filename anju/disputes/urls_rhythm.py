from django.urls import path

from anju.disputes import views_rhythm

urlpatterns = [
    path("disputes/figures/", views_rhythm.figures_page, name="dispute_figures"),
    path("disputes/figures.xlsx", views_rhythm.figures_xlsx, name="dispute_figures_xlsx"),
    path("disputes/quarter.xlsx", views_rhythm.quarter_xlsx, name="dispute_quarter_xlsx"),
    path("disputes/risk/", views_rhythm.risk_page, name="dispute_risk"),
    path("disputes/risk.xlsx", views_rhythm.risk_xlsx, name="dispute_risk_xlsx"),
    path("disputes/reviews/", views_rhythm.reviews_page, name="dispute_reviews"),
    path("disputes/ranking/", views_rhythm.ranking_page, name="dispute_ranking"),
]
