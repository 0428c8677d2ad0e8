from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "anju.registry"
    label = "registry"
    verbose_name = _("Basic registry")

    def ready(self):
        from anju.registry import tasks  # noqa: F401  (registers the periodic reminder)
