from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "merchandising.jobs"
    label = "jobs"
    verbose_name = "Background jobs"
