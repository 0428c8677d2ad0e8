from django.urls import include, path

from anju.registry import views

urlpatterns = [
    path("registry/", views.index, name="registry"),
    path("registry/queue/", views.queue, name="registry_queue"),
    path("registry/overdue/", views.overdue, name="registry_overdue"),
    path("registry/people/new/", views.person_new, name="registry_person_new"),
    path("registry/people/<int:pk>/", views.person, name="registry_person"),
    path("registry/people/<int:pk>/change/", views.person_change, name="registry_person_change"),
    path("registry/houses/new/", views.house_new, name="registry_house_new"),
    path("registry/houses/<int:pk>/", views.house, name="registry_house"),
    path("registry/houses/<int:pk>/check-in/", views.house_check_in, name="registry_house_check_in"),
    path("registry/houses/<int:pk>/change/", views.house_change, name="registry_house_change"),
    path("registry/residences/<int:pk>/", views.residence, name="registry_residence"),
    path("registry/residences/<int:pk>/check-out/", views.residence_check_out, name="registry_check_out"),
    path("registry/residences/<int:pk>/contract/", views.residence_photo, name="registry_contract_photo"),
    path("registry/buildings/", views.buildings, name="registry_buildings"),
    path("registry/buildings/<int:pk>/", views.building, name="registry_building"),
    path("registry/organizations/", views.organizations, name="registry_organizations"),
    path("registry/organizations/new/", views.organization_new, name="registry_organization_new"),
    path("registry/organizations/<int:pk>/", views.organization, name="registry_organization"),
    path("registry/people/<int:pk>/vehicles/", views.person_vehicle, name="registry_person_vehicle"),
    path("registry/vehicles/<int:pk>/", views.vehicle, name="registry_vehicle"),
    path("registry/decide/<str:kind>/<int:pk>/<str:decision>/", views.decide, name="registry_decide"),
    path("", include("anju.registry.urls_public")),
    path("", include("anju.registry.urls_files")),
    path("", include("anju.registry.urls_reports")),
]
