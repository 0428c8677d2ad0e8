from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisputesConfig(AppConfig):
    name = "anju.disputes"
    label = "disputes"
    verbose_name = _("Disputes")

    def ready(self):
        from anju.disputes import checks, sweeper  # noqa: F401  (register the font check and the periodic sweep)
