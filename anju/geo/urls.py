from django.urls import path

from anju.geo import views

urlpatterns = [
    path("", views.home, name="home"),
    path("divisions/", views.tree, name="tree"),
    path("divisions/<str:code>/", views.division, name="division"),
    path("divisions/<str:code>/children/", views.children, name="division_children"),
    path("map/", views.district_map, name="map"),
    path("grids/import/", views.grid_import, name="grid_import"),
    path("grids/<str:code>/", views.grid, name="grid"),
    path("grids/<str:code>/team/", views.team_edit, name="team_edit"),
]
