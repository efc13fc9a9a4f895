from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "merchandising.demo"
    label = "demo"
    verbose_name = "Demo data"
