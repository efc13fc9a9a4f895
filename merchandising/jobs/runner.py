"""Runs a job's work inside a Celery task and records what happened.

Tasks are delivered at least once (acks_late): a job that already finished is not run again, and a
job found `running` (its worker died) is started over; the work functions write idempotently
(upserts keyed by natural keys), so a re-run does not duplicate anything.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from .models import Job
from .services import JobCancelled, job_report

log = logging.getLogger(__name__)

Report = Callable[[int, str], None]


class JobError(Exception):
    """A failure whose message is meant for the merchant (no traceback in the page)."""


def run_job(job_id: int, work: Callable[[Job, Report], dict | None]) -> None:
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        log.warning("job %s no longer exists; nothing to do", job_id)
        return
    if job.is_finished:
        return
    if job.cancel_requested:
        _finish(job, Job.Status.CANCELLED, message="Cancelled.")
        return
    max_attempts = settings.MERCHLAB_JOB_MAX_ATTEMPTS
    if job.attempts >= max_attempts:
        # Every earlier delivery started and never finished: its worker died (killed, out of
        # memory). Redelivering it for ever would take a worker down again each time.
        _finish(
            job,
            Job.Status.FAILED,
            message="Failed.",
            error=f"Gave up after {job.attempts} attempts: the worker stopped while running this "
            "job each time (killed, out of memory or restarted).",
        )
        log.error("job %s failed: gave up after %s attempts", job.pk, job.attempts)
        return
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1, error=""
    )
    job.refresh_from_db()
    started = time.monotonic()

    def report(progress: int, message: str = "") -> None:
        job_report(job=job, progress=progress, message=message)

    try:
        result = work(job, report) or {}
    except JobCancelled:
        _finish(job, Job.Status.CANCELLED, message="Cancelled by the user.")
        return
    except JobError as exc:
        _finish(
            job,
            Job.Status.FAILED,
            error=str(exc),
            message="Failed.",
            result=getattr(exc, "result", None),
        )
        return
    except Exception as exc:  # record, then let Celery log it
        _finish(job, Job.Status.FAILED, error=f"{type(exc).__name__}: {exc}", message="Failed.")
        raise
    result.setdefault("seconds", round(time.monotonic() - started, 2))
    _finish(
        job,
        Job.Status.SUCCEEDED,
        result=result,
        progress=100,
        message=result.get("summary", "Done."),
    )


def _finish(
    job: Job,
    status: str,
    *,
    message: str = "",
    error: str = "",
    result: dict | None = None,
    progress: int | None = None,
) -> None:
    fields = {
        "status": status,
        "finished_at": timezone.now(),
        "message": message[:500],
        "error": error,
    }
    if result is not None:
        fields["result"] = result
    if progress is not None:
        fields["progress"] = progress
    Job.objects.filter(pk=job.pk).update(**fields)
