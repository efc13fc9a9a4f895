"""Celery task of the segments app (queue ``default``): thin wrapper around the service."""

from __future__ import annotations

from celery import shared_task

from merchandising.jobs.runner import JobError, run_job


def _discover(job, report):
    from .clustering import NotEnoughVisitors
    from .services import segments_discover

    try:
        run = segments_discover(merchant=job.merchant, job=job, report=report)
    except NotEnoughVisitors as exc:
        raise JobError(str(exc)) from exc
    return {
        "summary": f"{run.k} segments from {run.visitors:,} visitors "
        f"(k chosen by the highest silhouette, {run.silhouette:.3f}).",
        "segment_run_id": run.pk,
        "k": run.k,
        "scores": run.scores,
    }


@shared_task(name="segments.discover", acks_late=True, reject_on_worker_lost=True)
def segments_discover_task(job_id: int) -> None:
    run_job(job_id, _discover)


@shared_task(name="segments.purge_expired_events", acks_late=True)
def events_purge_expired_all() -> int:
    """Beat: delete raw events past each merchant's retention period."""
    from .models import PrivacySettings
    from .services import events_purge_expired

    total = 0
    for setting in PrivacySettings.objects.filter(
        event_retention_days__isnull=False
    ).select_related("merchant"):
        total += events_purge_expired(merchant=setting.merchant)
    return total
