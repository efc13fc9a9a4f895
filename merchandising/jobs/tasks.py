"""Celery tasks of the jobs app: the reaper that beat runs (see jobs.services.jobs_reap)."""

from celery import shared_task

from .services import jobs_reap


@shared_task(name="jobs.reap_lost")
def reap_lost_jobs() -> dict:
    return jobs_reap()
