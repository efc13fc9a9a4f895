from django.apps import AppConfig


class ReviewConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "contentgen.review"
    label = "review"
    verbose_name = "Copy review"
