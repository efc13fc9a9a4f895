"""Celery application.

Queues: `default` (CPU work: imports, recommender training, statistics roll-ups) and `gpu`
(copy generation and fine-tuning; run that worker with concurrency 1 so the loaded model stays).
"""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "merchandising.settings")

app = Celery("merchandising")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("default"), Queue("gpu"))
app.conf.task_routes = {
    "contentgen.*": {"queue": "gpu"},
}
app.autodiscover_tasks()


def ensure_broker_folders() -> None:
    """Create the folders of the embedded file-system broker (used when REDIS_URL is unset)."""
    from django.conf import settings

    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        for key in ("data_folder_in", "processed_folder"):
            os.makedirs(settings.CELERY_BROKER_TRANSPORT_OPTIONS[key], exist_ok=True)


# Recommender: a full training every night, incremental fit_partial updates every 15 minutes.
app.conf.beat_schedule = {
    **(app.conf.beat_schedule or {}),
    "recsys-train-nightly": {
        "task": "recsys.train_all",
        "schedule": 24 * 3600.0,
        "options": {"queue": "default"},
    },
    "recsys-update-quarter-hourly": {
        "task": "recsys.update_all",
        "schedule": 15 * 60.0,
        "options": {"queue": "default"},
    },
}
