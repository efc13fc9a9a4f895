from django.apps import AppConfig


class FinetuningConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "contentgen.finetuning"
    label = "finetuning"
    verbose_name = "Copy fine-tuning"
