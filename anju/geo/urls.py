from django.urls import path

from anju.geo import views

urlpatterns = [
    path("", views.home, name="home"),
    path("divisions/", views.tree, name="tree"),
    path("divisions/<str:code>/", views.division, name="division"),
    path("divisions/<str:code>/children/", views.children, name="division_children"),
    path("map/", views.district_map, name="map"),
    path("grids/<str:code>/", views.grid, name="grid"),
]
