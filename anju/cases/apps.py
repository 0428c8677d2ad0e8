from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "anju.cases"
    label = "cases"
    verbose_name = _("Cases")

    def ready(self):
        from anju.cases import sweeper  # noqa: F401  (registers the periodic sweep)
