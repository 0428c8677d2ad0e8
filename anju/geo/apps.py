from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GeoConfig(AppConfig):
    name = "anju.geo"
    label = "geo"
    verbose_name = _("Divisions and grids")

    def ready(self):
        from anju.core import scope
        from anju.geo.queries import node_for_code

        scope.node_lookup = node_for_code
