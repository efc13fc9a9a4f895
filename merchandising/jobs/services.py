"""Creating, advancing and cancelling jobs."""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from .models import Job


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
    )
    job.full_clean()
    job.save()
    transaction.on_commit(lambda: task.apply_async(args=[job.pk], queue=queue))
    job.reused = False
    return job


def job_cancel(*, merchant, job_id: int) -> Job:
    """Ask a job to stop. A queued job is cancelled at once; a running one at its next progress
    report."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(merchant=merchant, pk=job_id)
        if job.is_finished:
            return job
        job.cancel_requested = True
        cache.set(cancel_cache_key(job.pk), True, 24 * 3600)
        fields = ["cancel_requested"]
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
