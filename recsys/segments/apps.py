import logging

from django.apps import AppConfig
from django.db.models.signals import post_save


class SegmentsConfig(AppConfig):
    name = "recsys.segments"
    label = "segments"
    verbose_name = "Shopper segments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Segments are re-found after each recommender training (they use its representations).
        try:
            from recsys.models import ModelVersion
        except ImportError:  # recommender app not installed
            return
        post_save.connect(
            _after_training, sender=ModelVersion, dispatch_uid="segments_after_training"
        )


def _after_training(sender, instance, created, **kwargs):
    from django.conf import settings
    from django.db import transaction

    if not created or not getattr(settings, "MERCHLAB_SEGMENTS_AFTER_TRAINING", True):
        return
    merchant = instance.merchant

    def submit():
        from .services import segments_discover_submit

        try:
            segments_discover_submit(merchant=merchant)
        except Exception:  # queueing segments must never break a training
            logging.getLogger(__name__).exception("could not queue segments for %s", merchant)

    transaction.on_commit(submit)
