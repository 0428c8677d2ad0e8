from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "anju.demo"
    label = "demo"
    verbose_name = "Demo district"
