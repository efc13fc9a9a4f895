from django.core.cache import cache

from .models import Job
from .services import progress_cache_key


def _with_live_progress(jobs: list[Job]) -> list[Job]:
    """Running jobs get the progress their task last reported to the shared cache (the row may
    still be inside the task's transaction); queued ones how many jobs are ahead of them."""
    for job in jobs:
        job.jobs_ahead = jobs_ahead(job) if job.status == Job.Status.QUEUED else None
    running = [j for j in jobs if j.status == Job.Status.RUNNING]
    if running:
        live = cache.get_many([progress_cache_key(j.pk) for j in running])
        for job in running:
            value = live.get(progress_cache_key(job.pk))
            if value and value[0] >= job.progress:
                job.progress, job.message = value
    return jobs


def jobs_ahead(job: Job) -> int:
    """Unfinished jobs of any merchant queued before `job` on its queue (its worker takes them
    in order). Only a count: nothing about other merchants' jobs is shown."""
    return Job.objects.filter(
        queue=job.queue, status__in=Job.ACTIVE, created_at__lt=job.created_at
    ).count()


def jobs_list(merchant, *, kind: str | None = None):
    qs = Job.objects.filter(merchant=merchant)
    return qs.filter(kind=kind) if kind else qs


def jobs_recent(merchant, *, kind: str | None = None, limit: int = 100) -> list[Job]:
    return _with_live_progress(list(jobs_list(merchant, kind=kind)[:limit]))


def job_get(merchant, job_id: int) -> Job:
    return _with_live_progress([Job.objects.get(merchant=merchant, pk=job_id)])[0]
