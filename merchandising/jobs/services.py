"""Creating, advancing and cancelling jobs."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import Job

log = logging.getLogger(__name__)


class JobCancelled(Exception):
    """Raised inside a task when the user asked to cancel; the runner records it."""


def job_submit(
    *,
    merchant,
    kind: str,
    task,
    params: dict | None = None,
    user=None,
    queue: str = "default",
    once_per: tuple[str, ...] | None = None,
) -> Job:
    """Create a queued job and enqueue `task(job_id)` once the surrounding transaction commits.

    With `once_per` a merchant has at most one unfinished job of this kind doing the same work:
    when a queued or running one exists whose params agree on the names in `once_per` (``()``:
    any job of the kind), that job is returned instead of a new one, with ``job.reused = True``.
    Two such requests at the same moment are serialised on the merchant's row."""
    params = params or {}
    if once_per is not None:
        with transaction.atomic():
            type(merchant)._default_manager.select_for_update().filter(pk=merchant.pk).first()
            for active in Job.objects.filter(
                merchant=merchant, kind=kind, status__in=Job.ACTIVE
            ).order_by("created_at"):
                if all(active.params.get(name) == params.get(name) for name in once_per):
                    active.reused = True
                    return active
            return _job_create(
                merchant=merchant, kind=kind, task=task, params=params, user=user, queue=queue
            )
    return _job_create(
        merchant=merchant, kind=kind, task=task, params=params, user=user, queue=queue
    )


def _job_create(*, merchant, kind: str, task, params: dict, user, queue: str) -> Job:
    job = Job(
        merchant=merchant,
        kind=kind,
        params=params,
        created_by=user if getattr(user, "pk", None) else None,
        queue=queue,
        task=getattr(task, "name", "") or "",
    )
    job.full_clean()
    job.save()
    transaction.on_commit(lambda: task.apply_async(args=[job.pk], queue=queue))
    job.reused = False
    return job


def job_cancel(*, merchant, job_id: int, user=None) -> Job:
    """Ask a job to stop. A queued job is cancelled at once; a running one at its next progress
    report. The name of the person who asked is kept in the job's params ("cancelled_by")."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(merchant=merchant, pk=job_id)
        if job.is_finished:
            return job
        job.cancel_requested = True
        cache.set(cancel_cache_key(job.pk), True, 24 * 3600)
        fields = ["cancel_requested"]
        if getattr(user, "pk", None):
            job.params = {**(job.params or {}), "cancelled_by": user.get_username()}
            fields.append("params")
        if job.status == Job.Status.QUEUED:
            job.status = Job.Status.CANCELLED
            job.finished_at = timezone.now()
            job.message = "Cancelled before it started."
            fields += ["status", "finished_at", "message"]
        job.save(update_fields=fields)
    return job


def progress_cache_key(job_id: int) -> str:
    return f"job:{job_id}:progress"


def cancel_cache_key(job_id: int) -> str:
    return f"job:{job_id}:cancel"


def job_cancel_check(*, job_id: int, db_every: float = 2.0):
    """A function that says whether the user cancelled the job, cheap enough to ask after every
    decoding step: the shared cache's flag each time (set by `job_cancel`), the job's row at
    most every `db_every` seconds (in case the cache was cleared)."""
    last_db = time.monotonic()

    def cancelled() -> bool:
        nonlocal last_db
        if cache.get(cancel_cache_key(job_id)):
            return True
        if time.monotonic() - last_db >= db_every:
            last_db = time.monotonic()
            return Job.objects.filter(pk=job_id, cancel_requested=True).exists()
        return False

    return cancelled


def job_report(*, job: Job, progress: int, message: str = "") -> None:
    """Save progress (0-100) and a message; raise JobCancelled if the user cancelled.

    Work such as an all-or-nothing import reports from inside its own transaction, where the row
    update is invisible to the dashboard until the end; the shared cache carries the live figure
    meanwhile (selectors overlay it), and the cancel flag too."""
    progress = max(0, min(100, int(progress)))
    Job.objects.filter(pk=job.pk).update(progress=progress, message=message[:500])
    job.progress, job.message = progress, message[:500]
    cache.set(progress_cache_key(job.pk), (progress, message[:500]), 24 * 3600)
    if (
        cache.get(cancel_cache_key(job.pk))
        or Job.objects.filter(pk=job.pk, cancel_requested=True).exists()
    ):
        raise JobCancelled()


def heartbeat_seconds() -> float:
    return float(settings.MERCHLAB_JOB_HEARTBEAT_SECONDS)


def lost_after_seconds() -> float:
    return float(settings.MERCHLAB_JOB_LOST_AFTER_SECONDS)


def jobs_reap(*, now=None) -> dict:
    """Requeue, or fail, running jobs whose worker stopped sending heartbeats.

    A worker renews `heartbeat_at` every MERCHLAB_JOB_HEARTBEAT_SECONDS while it runs a job;
    one silent for MERCHLAB_JOB_LOST_AFTER_SECONDS died (killed, out of memory, its machine
    restarted). Its broker message may come back by itself (Redis, after the visibility
    timeout) or may be gone (the embedded broker deletes a message when a worker takes it), so
    the job goes back to `queued` with the reason on its page and its task is sent again; the
    first delivery to claim it runs it, any other finds it taken (jobs.runner). A job that has
    used its MERCHLAB_JOB_MAX_ATTEMPTS fails with the reason instead."""
    now = now or timezone.now()
    limit = now - timedelta(seconds=lost_after_seconds())
    max_attempts = settings.MERCHLAB_JOB_MAX_ATTEMPTS
    lost = Job.objects.filter(status=Job.Status.RUNNING).filter(
        Q(heartbeat_at__lt=limit) | Q(heartbeat_at__isnull=True, started_at__lt=limit)
    )
    requeued, failed = [], []
    for job in lost:
        same = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, worker=job.worker)
        if job.attempts >= max_attempts or not job.task:
            changed = same.update(
                status=Job.Status.FAILED,
                finished_at=now,
                message="Failed.",
                error=f"The worker running this job stopped (killed, out of memory or restarted) "
                f"on attempt {job.attempts} of {max_attempts}; not retried.",
            )
            if changed:
                failed.append(job.pk)
                log.error("job %s failed: its worker was lost on the last attempt", job.pk)
            continue
        changed = same.update(
            status=Job.Status.QUEUED,
            worker="",
            progress=0,
            message=f"Worker lost, waiting to retry (attempt {job.attempts + 1} of {max_attempts}).",
        )
        if changed:
            cache.delete(progress_cache_key(job.pk))
            current_app.send_task(job.task, args=[job.pk], queue=job.queue)
            requeued.append(job.pk)
            log.warning("job %s: worker lost, queued again", job.pk)
    return {"requeued": requeued, "failed": failed}
