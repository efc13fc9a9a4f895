from django.apps import AppConfig


class ContentgenConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "contentgen"
    label = "contentgen"
    verbose_name = "Copy generation"
