from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "merchandising.tracking"
    label = "tracking"
    verbose_name = "Tracking"
    default_auto_field = "django.db.models.BigAutoField"
