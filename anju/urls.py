from django.urls import include, path

from anju.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("anju.core.urls")),
    path("", include("anju.geo.urls")),
    path("", include("anju.registry.urls")),
    path("", include("anju.cases.urls")),
    path("", include("anju.disputes.urls")),
]
