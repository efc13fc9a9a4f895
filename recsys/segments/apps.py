from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "recsys.segments"
    label = "segments"
    verbose_name = "Shopper segments"
    default_auto_field = "django.db.models.BigAutoField"
