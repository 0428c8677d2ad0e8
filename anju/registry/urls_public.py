"""The tenant's public self-declaration pages, and the staff's QR codes of houses and buildings."""

from django.urls import path, re_path

from anju.registry import views_public

urlpatterns = [
    path("d/<str:token>/", views_public.declare, name="declare"),
    path("d/<str:token>/done/<str:ref>/", views_public.declare_done, name="declare_done"),
    re_path(r"^registry/houses/(?P<pk>\d+)/qr\.(?P<fmt>svg|png)$", views_public.house_qr, name="house_qr"),
    re_path(r"^registry/buildings/(?P<pk>\d+)/qr\.(?P<fmt>svg|png)$", views_public.building_qr, name="building_qr"),
    path("registry/buildings/<int:pk>/qr-sheet/", views_public.building_qr_sheet, name="building_qr_sheet"),
]
