"""Runs a job's work inside a Celery task and records what happened.

Tasks are delivered at least once (acks_late): a job that already finished is not run again, and
a job found `running` is started over only when its heartbeat stopped (its worker died; a live
worker renews it every MERCHLAB_JOB_HEARTBEAT_SECONDS), so two deliveries never run it at once.
The work functions write idempotently (upserts keyed by natural keys), so a re-run does not
duplicate anything."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from .models import Job
from .services import (
    JobCancelled,
    heartbeat_seconds,
    job_report,
    lost_after_seconds,
    progress_cache_key,
)

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
    token = _claim(job)
    while token is None:
        # Another delivery of the same job (a redelivered message and the reaper's copy) holds
        # it. This one is acknowledged when it returns, so it waits until that job ends (nothing
        # to do) or its worker is found dead (then this delivery runs it), never dropping the
        # last message of a job whose holder died.
        job.refresh_from_db()
        if job.is_finished or job.cancel_requested:
            log.info("job %s was run by another delivery; nothing to do", job.pk)
            return
        time.sleep(heartbeat_seconds())
        token = _claim(job)
    job.refresh_from_db()
    started = time.monotonic()
    heartbeat = _Heartbeat(job.pk, token)
    heartbeat.start()

    def report(progress: int, message: str = "") -> None:
        job_report(job=job, progress=progress, message=message)

    try:
        result = work(job, report) or {}
    except JobCancelled:
        _finish(job, Job.Status.CANCELLED, message="Cancelled by the user.", token=token)
        return
    except JobError as exc:
        _finish(
            job,
            Job.Status.FAILED,
            error=str(exc),
            message="Failed.",
            result=getattr(exc, "result", None),
            token=token,
        )
        return
    except Exception as exc:  # record, then let Celery log it
        _finish(
            job,
            Job.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            message="Failed.",
            token=token,
        )
        raise
    finally:
        heartbeat.stop()
    result.setdefault("seconds", round(time.monotonic() - started, 2))
    _finish(
        job,
        Job.Status.SUCCEEDED,
        result=result,
        progress=100,
        message=result.get("summary", "Done."),
        token=token,
    )


def _claim(job: Job) -> str | None:
    """Mark the job running for this delivery; None when a live worker already runs it.

    A queued job is free; a running one is free only when its heartbeat stopped (its worker
    died and the broker delivered the message again). The update is one statement, so of two
    deliveries at the same moment one claims the job."""
    now = timezone.now()
    lost = now - timedelta(seconds=lost_after_seconds())
    token = uuid.uuid4().hex
    free = Q(status=Job.Status.QUEUED) | Q(
        Q(heartbeat_at__lt=lost) | Q(heartbeat_at__isnull=True), status=Job.Status.RUNNING
    )
    attempt = job.attempts + 1
    fields = {
        "status": Job.Status.RUNNING,
        "started_at": now,
        "heartbeat_at": now,
        "worker": token,
        "attempts": F("attempts") + 1,
        "error": "",
    }
    if attempt > 1:
        fields["message"] = (
            f"Running again (attempt {attempt} of {settings.MERCHLAB_JOB_MAX_ATTEMPTS})."
        )
    claimed = Job.objects.filter(free, pk=job.pk, cancel_requested=False).update(**fields)
    if not claimed:
        return None
    cache.delete(progress_cache_key(job.pk))  # the live progress of a lost attempt is stale
    return token


class _Heartbeat:
    """Renews the job's `heartbeat_at` every MERCHLAB_JOB_HEARTBEAT_SECONDS from a thread while
    the job runs (only while this delivery still holds the job)."""

    def __init__(self, job_id: int, token: str) -> None:
        self.job_id, self.token = job_id, token
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"job-{job_id}-heartbeat", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            while not self._stop.wait(heartbeat_seconds()):
                try:
                    Job.objects.filter(
                        pk=self.job_id, worker=self.token, status=Job.Status.RUNNING
                    ).update(heartbeat_at=timezone.now())
                except Exception:  # a missed beat is retried; the reaper allows several
                    log.warning("job %s: heartbeat not written", self.job_id, exc_info=True)
        finally:
            connection.close()  # this thread's own database connection


def _finish(
    job: Job,
    status: str,
    *,
    message: str = "",
    error: str = "",
    result: dict | None = None,
    progress: int | None = None,
    token: str | None = None,
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
    rows = Job.objects.filter(pk=job.pk)
    if token is not None:  # only while this delivery still holds the job
        rows = rows.filter(worker=token)
    rows.update(**fields)
